-- Versions 1.0 to 1.3 keep working against the new library, ALTER
-- EXTENSION UPDATE takes them to 1.4 one version at a time, and the updated
-- extension is the same, object for object, as a fresh install of 1.4.
SELECT current_database() AS regress_db \gset
CREATE DATABASE pgps_fresh;
CREATE DATABASE pgps_updated;

-- The catalog's description of every object of the extension: functions
-- with their signature, result, markings, C symbol, privileges and comment;
-- views with their columns, definition, privileges and comment (the owner's
-- MAINTAIN privilege, m, which PostgreSQL 17 added, left out).
\set describe 'SELECT string_agg(d, E''\n'' ORDER BY d) FROM (SELECT format(''function %s(%s) returns %s volatile=%s parallel=%s strict=%s symbol=%s acl=%s comment=%s'', p.proname, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.provolatile, p.proparallel, p.proisstrict, p.prosrc, p.proacl, obj_description(p.oid, ''pg_proc'')) FROM pg_proc p JOIN pg_depend e ON e.classid = ''pg_proc''::regclass AND e.objid = p.oid WHERE e.refclassid = ''pg_extension''::regclass AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = ''pgpool_stats'') UNION ALL SELECT format(''view %s (%s) acl=%s comment=%s as %s'', c.relname, (SELECT string_agg(attname || '' '' || format_type(atttypid, atttypmod), '', '' ORDER BY attnum) FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0), replace(c.relacl::text, ''Dxtm/'', ''Dxt/''), obj_description(c.oid, ''pg_class''), pg_get_viewdef(c.oid)) FROM pg_class c JOIN pg_depend e ON e.classid = ''pg_class''::regclass AND e.objid = c.oid WHERE e.refclassid = ''pg_extension''::regclass AND e.refobjid = (SELECT oid FROM pg_extension WHERE extname = ''pgpool_stats'')) x(d)'

\c pgps_fresh
CREATE EXTENSION pgpool_stats;
SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats';
:describe \gset fresh_

\c pgps_updated
CREATE EXTENSION pgpool_stats VERSION '1.0';
-- every 1.0 view and function works against the new library, by its 1.0 names
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_connections WHERE connections >= 0;
SELECT count(*) >= 0 AS works FROM pgpool_stats_activity
 WHERE peak_total >= 0 AND longest_idle_in_transaction_s >= 0 AND p95_active IS NOT DISTINCT FROM p95_active;
SELECT count(*) >= 0 AS works FROM pgpool_stats_history WHERE max_idle_in_transaction >= 0;
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_recommendations WHERE p99_busy >= 0;
SELECT headroom + client_connections <= max_connections AS fits, peak_client_connections >= 0 AS peak
  FROM pgpool_stats_server;
SELECT avg_sample_us <= max_sample_us AS sample_times FROM pgpool_stats_info;
SELECT pgpool_stats_sample() >= 1 AS sampled;
SELECT verdict FROM pgpool_stats_advise(600, typical_open => 30, busy_p99 => 2);
SELECT * FROM pgpool_stats_advise(600, iit_share => 2);
-- who may reset and sample keeps that right through the update
CREATE ROLE pgps_resetter;
GRANT EXECUTE ON FUNCTION pgpool_stats_reset(), pgpool_stats_sample() TO pgps_resetter;
ALTER EXTENSION pgpool_stats UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats';
SELECT has_function_privilege('pgps_resetter', 'pgpool_stats_reset()', 'EXECUTE') AS may_reset,
       has_function_privilege('pgps_resetter', 'pgpool_stats_sample()', 'EXECUTE') AS may_sample,
       has_function_privilege('public', 'pgpool_stats_reset()', 'EXECUTE') AS public_may_reset;
-- every 1.1 view and function works against the new library
SELECT verdict FROM pgpool_stats_advise(600, open_p50 => 30, busy_p99 => 2, connections => 10);
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_recommendations WHERE busy_burst >= 0;
ALTER EXTENSION pgpool_stats UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats';
-- every 1.2 view and function works against the new library, by its 1.2 columns
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_connections
 WHERE connections >= 0 AND setup_avg_ms >= 0 AND stats_reset IS NOT NULL;
SELECT verdict FROM pgpool_stats_advise(600, leaked_connections => 3, leak_open_now => 3);
ALTER EXTENSION pgpool_stats UPDATE TO '1.3';
SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats';
-- every 1.3 function works against the new library
SELECT count(*) >= 0 AS works FROM pgpool_stats_pool_check('psql', 5);
ALTER EXTENSION pgpool_stats UPDATE TO '1.4';
SELECT extversion FROM pg_extension WHERE extname = 'pgpool_stats';
REVOKE EXECUTE ON FUNCTION pgpool_stats_reset(), pgpool_stats_sample() FROM pgps_resetter;
:describe \gset updated_

-- the same objects, described alike
SELECT :'updated_string_agg' = :'fresh_string_agg' AS same_as_fresh_install;
-- and what they are (views without their definition)
\pset format unaligned
\pset tuples_only on
SELECT split_part(line, ' as  SELECT', 1)
  FROM unnest(string_to_array(:'updated_string_agg', E'\n')) line
 WHERE line ~ '^(function|view) ';
\pset tuples_only off
\pset format aligned

-- the updated extension works, by its 1.4 names
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_connections WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_connections
 WHERE transactions >= 0 AND statements >= 0 AND sessions_killed >= 0;
SELECT pgpool_stats_report() LIKE 'pgpool_stats report, %' AS text_report,
       pgpool_stats_report('markdown') LIKE '# pgpool_stats report%' AS markdown_report;
SELECT count(*) >= 0 AS works FROM pgpool_stats_pool_check('psql', 5);
SELECT count(*) >= 1 AS has_rows FROM pgpool_stats_what_if(current_setting('application_name'), 3);
SELECT verdict FROM pgpool_stats_advise(600, open_p50 => 30, busy_p99 => 2);
SELECT verdict FROM pgpool_stats_advise(600, leaked_connections => 3, leak_open_now => 3);
SELECT * FROM pgpool_stats_advise(600, idle_in_transaction_share => 2);

\c :regress_db
DROP DATABASE pgps_fresh;
DROP DATABASE pgps_updated;
DROP ROLE pgps_resetter;
