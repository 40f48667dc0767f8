/* pgpool_stats--1.4.sql: install script of pgpool_stats 1.4 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgpool_stats" to load this file. \quit

-- Connection churn per key (database, role, application_name, client address)
CREATE FUNCTION pgpool_stats_connections(
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT connections bigint,
    OUT disconnections bigint,
    OUT auth_failures bigint,
    OUT login_failures bigint,
    OUT open_connections integer,
    OUT connects_per_sec double precision,
    OUT session_avg_ms double precision,
    OUT session_p50_ms double precision,
    OUT session_p95_ms double precision,
    OUT session_max_ms double precision,
    OUT short_sessions bigint,
    OUT setup_avg_ms double precision,
    OUT transactions bigint,
    OUT statements bigint,
    OUT transactions_per_connection double precision,
    OUT reuse_share double precision,
    OUT sessions_normal bigint,
    OUT sessions_abandoned bigint,
    OUT sessions_fatal bigint,
    OUT sessions_killed bigint,
    OUT first_seen timestamp with time zone,
    OUT last_connect timestamp with time zone,
    OUT stats_reset timestamp with time zone
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_connections_1_3'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_connections AS
    SELECT s.dbid,
           d.datname,
           s.userid,
           r.rolname AS usename,
           s.application_name,
           s.client_addr,
           s.connections,
           s.disconnections,
           s.auth_failures,
           s.login_failures,
           s.open_connections,
           s.connects_per_sec,
           s.session_avg_ms,
           s.session_p50_ms,
           s.session_p95_ms,
           s.session_max_ms,
           s.short_sessions,
           s.setup_avg_ms,
           s.transactions,
           s.statements,
           s.transactions_per_connection,
           s.reuse_share,
           s.sessions_normal,
           s.sessions_abandoned,
           s.sessions_fatal,
           s.sessions_killed,
           s.first_seen,
           s.last_connect,
           s.stats_reset
      FROM pgpool_stats_connections() s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid;

-- What each key's sessions are doing, from the sampler
CREATE FUNCTION pgpool_stats_activity(
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT total integer,
    OUT active integer,
    OUT idle integer,
    OUT idle_in_transaction integer,
    OUT idle_in_transaction_aborted integer,
    OUT waiting integer,
    OUT total_max integer,
    OUT active_max integer,
    OUT active_avg double precision,
    OUT active_p95 double precision,
    OUT active_p99 double precision,
    OUT idle_in_transaction_max_s double precision,
    OUT samples bigint,
    OUT last_sample timestamp with time zone,
    OUT active_trend text,
    OUT total_trend text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_activity_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_activity AS
    SELECT s.dbid,
           d.datname,
           s.userid,
           r.rolname AS usename,
           s.application_name,
           s.client_addr,
           s.total,
           s.active,
           s.idle,
           s.idle_in_transaction,
           s.idle_in_transaction_aborted,
           s.waiting,
           s.total_max,
           s.active_max,
           s.active_avg,
           s.active_p95,
           s.active_p99,
           s.idle_in_transaction_max_s,
           s.samples,
           s.last_sample,
           s.active_trend,
           s.total_trend
      FROM pgpool_stats_activity() s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid;

-- The bounded history: one row per closed bucket and key
CREATE FUNCTION pgpool_stats_history(
    OUT bucket_start timestamp with time zone,
    OUT bucket_end timestamp with time zone,
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT samples bigint,
    OUT total_avg double precision,
    OUT total_max integer,
    OUT active_avg double precision,
    OUT active_max integer,
    OUT idle_in_transaction_max integer,
    OUT connections integer,
    OUT disconnections integer
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_history_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_history AS
    SELECT s.bucket_start,
           s.bucket_end,
           s.dbid,
           d.datname,
           s.userid,
           r.rolname AS usename,
           s.application_name,
           s.client_addr,
           s.samples,
           s.total_avg,
           s.total_max,
           s.active_avg,
           s.active_max,
           s.idle_in_transaction_max,
           s.connections,
           s.disconnections
      FROM pgpool_stats_history() s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid;

-- Pool-sizing recommendations, one row per application
CREATE FUNCTION pgpool_stats_recommendations(
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT clients integer,
    OUT open_connections bigint,
    OUT active_max integer,
    OUT busy_p95 double precision,
    OUT busy_p99 double precision,
    OUT busy_burst double precision,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT verdict text,
    OUT reason text,
    OUT pooler boolean,
    OUT behind_pooler boolean
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_recommendations_1_2'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_recommendations AS
    SELECT s.dbid,
           d.datname,
           s.userid,
           r.rolname AS usename,
           s.application_name,
           s.clients,
           s.open_connections,
           s.active_max,
           s.busy_p95,
           s.busy_p99,
           s.busy_burst,
           s.recommended_pool_size,
           s.recommended_min_idle,
           s.verdict,
           s.reason,
           s.pooler,
           s.behind_pooler
      FROM pgpool_stats_recommendations() s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid;

-- The server as a whole
CREATE FUNCTION pgpool_stats_server(
    OUT max_connections integer,
    OUT reserved_connections integer,
    OUT client_connections bigint,
    OUT client_connections_max integer,
    OUT spare_connections bigint,
    OUT recommended_total bigint,
    OUT verdict text,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_server_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_server AS
    SELECT * FROM pgpool_stats_server();

-- An application's rules over given figures: what-ifs, and tests of every boundary
CREATE FUNCTION pgpool_stats_advise(
    samples bigint,
    connects_per_sec double precision DEFAULT 0,
    session_p50_ms double precision DEFAULT NULL,
    setup_share double precision DEFAULT NULL,
    busy_p50 double precision DEFAULT 0,
    busy_p95 double precision DEFAULT 0,
    busy_p99 double precision DEFAULT 0,
    open_p50 double precision DEFAULT 0,
    saturated_share double precision DEFAULT 0,
    idle_in_transaction_share double precision DEFAULT 0,
    idle_in_transaction_max_s double precision DEFAULT 0,
    headroom_pct double precision DEFAULT NULL,
    short_session_ms double precision DEFAULT NULL,
    instances integer DEFAULT 1,
    saturated_instances integer DEFAULT NULL,
    saturated_open_p50 double precision DEFAULT NULL,
    spare_connections bigint DEFAULT NULL,
    busy_burst double precision DEFAULT 0,
    connections bigint DEFAULT NULL,
    leaked_connections integer DEFAULT 0,
    leaked_in_transaction integer DEFAULT 0,
    leaked_idle_max_s double precision DEFAULT 0,
    leak_open_before integer DEFAULT 0,
    leak_open_now integer DEFAULT NULL,
    pooled_apps integer DEFAULT 0,
    behind_pooler boolean DEFAULT false,
    transactions_per_sec double precision DEFAULT NULL,
    hold_avg_ms double precision DEFAULT NULL,
    hold_variability double precision DEFAULT 1,
    arrival_burstiness double precision DEFAULT 1,
    wait_target_ms double precision DEFAULT NULL,
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_advise_1_4'
LANGUAGE C STABLE PARALLEL SAFE;

-- The server's rules over given figures
CREATE FUNCTION pgpool_stats_advise_server(
    max_connections integer DEFAULT NULL,
    reserved_connections integer DEFAULT NULL,
    client_connections bigint DEFAULT 0,
    client_connections_max bigint DEFAULT 0,
    recommended_total bigint DEFAULT 0,
    open_connections bigint DEFAULT 0,
    idle_connections double precision DEFAULT 0,
    OUT verdict text,
    OUT reason text,
    OUT available_connections bigint,
    OUT peak_connections bigint,
    OUT spare_connections bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_advise_server_1_1'
LANGUAGE C STABLE PARALLEL SAFE;

-- The extension itself
CREATE FUNCTION pgpool_stats_info(
    OUT sample_interval_ms integer,
    OUT samples_taken bigint,
    OUT last_sample timestamp with time zone,
    OUT sample_avg_us double precision,
    OUT sample_max_us double precision,
    OUT entries bigint,
    OUT max_entries integer,
    OUT evicted bigint,
    OUT dropped bigint,
    OUT history_buckets bigint,
    OUT worker_pid integer,
    OUT stats_reset timestamp with time zone,
    OUT shmem_bytes bigint,
    OUT history_rows_lost bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_info_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_info AS
    SELECT * FROM pgpool_stats_info();

-- The parts of the extension's shared memory
CREATE FUNCTION pgpool_stats_memory(
    OUT part text,
    OUT items bigint,
    OUT item_bytes bigint,
    OUT bytes bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_memory_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_memory AS
    SELECT * FROM pgpool_stats_memory();

-- A configured pool's use, per instance (the C part; read it through
-- pgpool_stats_pool_check)
CREATE FUNCTION pgpool_stats_pool_check_keys(
    text,
    integer,
    integer,
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT samples bigint,
    OUT open_max integer,
    OUT busy_p50_pct double precision,
    OUT busy_p95_pct double precision,
    OUT busy_p99_pct double precision,
    OUT busy_max_pct double precision,
    OUT busy_above_85_share double precision,
    OUT overflow_reached boolean,
    OUT overflow_share double precision,
    OUT overflow_s double precision,
    OUT exhausted_share double precision,
    OUT exhausted_s double precision,
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_pool_check_keys_1_3'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- Is a pool configured to pool_size (+ max_overflow) per instance right for
-- this application?  One row per instance (client address), of every
-- database and role unless datname or usename says which.
CREATE FUNCTION pgpool_stats_pool_check(
    application_name text,
    pool_size integer,
    max_overflow integer DEFAULT 0,
    datname name DEFAULT NULL,
    usename name DEFAULT NULL,
    OUT datname name,
    OUT usename name,
    OUT client_addr inet,
    OUT samples bigint,
    OUT open_max integer,
    OUT busy_p50_pct double precision,
    OUT busy_p95_pct double precision,
    OUT busy_p99_pct double precision,
    OUT busy_max_pct double precision,
    OUT busy_above_85_share double precision,
    OUT overflow_reached boolean,
    OUT overflow_share double precision,
    OUT overflow_s double precision,
    OUT exhausted_share double precision,
    OUT exhausted_s double precision,
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT reason text
)
RETURNS SETOF record
LANGUAGE sql VOLATILE PARALLEL SAFE
BEGIN ATOMIC
    SELECT d.datname, r.rolname, s.client_addr, s.samples, s.open_max,
           s.busy_p50_pct, s.busy_p95_pct, s.busy_p99_pct, s.busy_max_pct,
           s.busy_above_85_share, s.overflow_reached, s.overflow_share,
           s.overflow_s, s.exhausted_share, s.exhausted_s, s.verdict,
           s.recommended_pool_size, s.reason
      FROM pgpool_stats_pool_check_keys($1, $2, coalesce($3, 0)) s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid
     WHERE ($4 IS NULL OR d.datname = $4)
       AND ($5 IS NULL OR r.rolname = $5)
     ORDER BY d.datname, r.rolname, s.client_addr;
END;

-- The sparkline of a series, as the activity view draws its trends
CREATE FUNCTION pgpool_stats_sparkline(integer[])
RETURNS text
AS 'MODULE_PATHNAME', 'pgpool_stats_sparkline_1_3'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

-- The whole picture in one call: per application its churn, reuse, how its
-- sessions ended, its activity with a sparkline of the last hour, its
-- verdict and reason, then the server; 'text' for a terminal, 'markdown'
-- for a ticket or a pull request.  It reads the views, with the caller's
-- privileges: another role's application shows its names, not its figures.
CREATE FUNCTION pgpool_stats_report(format text DEFAULT 'text')
RETURNS text
LANGUAGE plpgsql VOLATILE
AS $report$
DECLARE
    md boolean;
    ext name;
    result text;
BEGIN
    IF format IS NULL OR lower(format) NOT IN ('text', 'markdown') THEN
        RAISE EXCEPTION 'pgpool_stats_report: unknown format "%"', format
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The format is ''text'' or ''markdown''.';
    END IF;
    md := lower(format) = 'markdown';
    -- the views are read where the extension is, whatever the search_path
    SELECT n.nspname INTO ext
      FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgpool_stats';

    EXECUTE pg_catalog.format($q$
    WITH conn AS (
        SELECT dbid, datname, userid, usename, application_name,
               count(*) AS instances,
               bool_and(connections IS NULL) AS hidden,
               sum(connections) AS connections,
               sum(disconnections) AS ended,
               sum(open_connections) AS open,
               sum(auth_failures + login_failures) AS failures,
               sum(connects_per_sec) AS per_sec,
               sum(session_avg_ms * disconnections)
                 / nullif(sum(disconnections) FILTER (WHERE session_avg_ms IS NOT NULL), 0) AS session_avg,
               max(session_p95_ms) AS session_p95,
               max(session_max_ms) AS session_max,
               sum(setup_avg_ms * connections)
                 / nullif(sum(connections) FILTER (WHERE setup_avg_ms IS NOT NULL), 0) AS setup_avg,
               sum(transactions) AS xacts,
               sum(statements) AS stmts,
               -- over the keys' own ratios: their connections are those
               -- counted with their transactions
               sum(transactions) FILTER (WHERE transactions_per_connection > 0)
                 / nullif(sum(transactions / transactions_per_connection)
                          FILTER (WHERE transactions_per_connection > 0), 0) AS per_conn,
               sum(reuse_share * transactions) / nullif(sum(transactions)
                          FILTER (WHERE reuse_share IS NOT NULL), 0) AS reuse,
               sum(sessions_normal) AS normal,
               sum(sessions_abandoned) AS abandoned,
               sum(sessions_fatal) AS fatal,
               sum(sessions_killed) AS killed
          FROM %1$I.pgpool_stats_connections
         GROUP BY dbid, datname, userid, usename, application_name),
    act AS (
        SELECT dbid, userid, application_name,
               sum(total) AS total, sum(active) AS active, sum(idle) AS idle,
               sum(idle_in_transaction + idle_in_transaction_aborted) AS iit,
               max(total_max) AS total_max, max(active_max) AS active_max
          FROM %1$I.pgpool_stats_activity
         GROUP BY dbid, userid, application_name),
    hist AS (
        SELECT dbid, userid, application_name, bucket_start,
               sum(total_max) AS total_max, sum(active_max) AS active_max
          FROM %1$I.pgpool_stats_history
         WHERE bucket_end > now() - interval '1 hour'
         GROUP BY dbid, userid, application_name, bucket_start),
    -- every bucket of the hour, those no key had a row in included
    closed AS (
        SELECT DISTINCT bucket_start FROM %1$I.pgpool_stats_history
         WHERE bucket_end > now() - interval '1 hour'),
    buckets AS (
        SELECT bucket_start FROM closed
        UNION
        SELECT generate_series(min(bucket_start), max(bucket_start),
                               make_interval(secs => (SELECT setting::integer FROM pg_catalog.pg_settings
                                                       WHERE name = 'pgpool_stats.history_interval')))
          FROM closed),
    spark AS (
        SELECT k.dbid, k.userid, k.application_name,
               %1$I.pgpool_stats_sparkline(array_agg(coalesce(h.total_max, 0)::integer ORDER BY b.bucket_start)) AS total_line,
               %1$I.pgpool_stats_sparkline(array_agg(coalesce(h.active_max, 0)::integer ORDER BY b.bucket_start)) AS active_line,
               max(h.total_max) AS total_peak, max(h.active_max) AS active_peak,
               count(*) AS nbuckets
          FROM (SELECT DISTINCT dbid, userid, application_name FROM hist) k
         CROSS JOIN buckets b
          LEFT JOIN hist h ON h.dbid = k.dbid AND h.userid = k.userid
                          AND h.application_name = k.application_name
                          AND h.bucket_start = b.bucket_start
         GROUP BY k.dbid, k.userid, k.application_name),
    apps AS (
        SELECT c.*, a.total, a.active, a.idle, a.iit, a.total_max, a.active_max,
               r.verdict, r.reason, r.recommended_pool_size AS pool,
               r.busy_p95, r.busy_p99,
               s.total_line, s.active_line, s.total_peak, s.active_peak, s.nbuckets,
               coalesce(nullif(c.application_name, ''), '(no name)') AS name,
               coalesce(c.datname::text, '(unknown database)') AS db,
               coalesce(c.usename::text, '(unknown role)') AS role
          FROM conn c
          LEFT JOIN act a USING (dbid, userid, application_name)
          LEFT JOIN %1$I.pgpool_stats_recommendations r USING (dbid, userid, application_name)
          LEFT JOIN spark s USING (dbid, userid, application_name)),
    lines AS (
        SELECT name, db, role, hidden, connections,
               format('%%s (database %%s, role %%s, %%s %%s)', name, db, role, instances,
                      CASE WHEN instances = 1 THEN 'instance' ELSE 'instances' END) AS title,
               CASE WHEN hidden THEN NULL
                    ELSE format('%%s%%s: %%s', coalesce(verdict, 'none yet'),
                                CASE WHEN pool > 0 AND verdict <> 'insufficient_data' THEN format(', pool %%s per instance', pool) ELSE '' END,
                                coalesce(reason, 'no sample has seen it yet')) END AS verdict_line,
               CASE WHEN hidden THEN NULL
                    ELSE format('%%s connections (%%s open, %%s ended), %%s per s; sessions avg %%s ms, p95 %%s ms, max %%s ms; setup %%s ms each (%%s of a session); %%s failed logins',
                                connections, open, ended, round(per_sec::numeric, 3),
                                coalesce(round(session_avg::numeric, 1)::text, '-'),
                                coalesce(round(session_p95::numeric, 1)::text, '-'),
                                coalesce(round(session_max::numeric, 1)::text, '-'),
                                coalesce(round(setup_avg::numeric, 2)::text, '-'),
                                CASE WHEN setup_avg IS NOT NULL AND session_avg > 0
                                     THEN round((100 * least(setup_avg / session_avg, 1))::numeric, 1)::text || '%%'
                                     ELSE '-' END,
                                failures) END AS churn_line,
               CASE WHEN hidden THEN NULL
                    ELSE format('%%s transactions, %%s statements: %%s transactions per connection, %%s of transactions on a reused connection',
                                xacts, stmts,
                                coalesce(round(per_conn::numeric, 1)::text, '-'),
                                coalesce(round((100 * reuse)::numeric, 1)::text || '%%', '-')) END AS reuse_line,
               CASE WHEN hidden THEN NULL
                    ELSE format('%%s sessions ended: %%s normally, %%s abandoned by the client, %%s by an error (fatal), %%s killed',
                                normal + abandoned + fatal + killed, normal, abandoned, fatal, killed) END AS ends_line,
               CASE WHEN hidden THEN NULL
                    ELSE format('now %%s open (%%s active, %%s idle, %%s idle in a transaction); at most %%s open and %%s active in one instance; busy p95 %%s, p99 %%s per instance',
                                coalesce(total, 0), coalesce(active, 0), coalesce(idle, 0), coalesce(iit, 0),
                                coalesce(total_max, 0), coalesce(active_max, 0),
                                coalesce(round(busy_p95::numeric, 1)::text, '-'),
                                coalesce(round(busy_p99::numeric, 1)::text, '-')) END AS activity_line,
               CASE WHEN hidden THEN NULL
                    WHEN total_line IS NULL THEN 'no history bucket closed in the last hour'
                    ELSE format('open %%s (at most %%s), active %%s (at most %%s), %%s buckets',
                                total_line, total_peak, active_line, active_peak, nbuckets) END AS hour_line,
               regexp_replace(replace(replace(name, '\', '\\'), '|', '\|'), '[\r\n]+', ' ', 'g') AS md_name,
               regexp_replace(replace(replace(db, '\', '\\'), '|', '\|'), '[\r\n]+', ' ', 'g') AS md_db,
               regexp_replace(replace(replace(role, '\', '\\'), '|', '\|'), '[\r\n]+', ' ', 'g') AS md_role,
               regexp_replace(replace(replace(format('%%s (database %%s, role %%s, %%s %%s)', name, db, role, instances,
                                     CASE WHEN instances = 1 THEN 'instance' ELSE 'instances' END),
                              '\', '\\'), '|', '\|'), '[\r\n]+', ' ', 'g') AS md_title,
               xacts, reuse, per_sec, abandoned, fatal, killed, total, verdict, pool, total_line, active_line
          FROM apps),
    srv AS (SELECT * FROM %1$I.pgpool_stats_server),
    info AS (SELECT * FROM %1$I.pgpool_stats_info)
    SELECT CASE WHEN NOT %2$L THEN
        format(E'pgpool_stats report, %%s\nstatistics since %%s, %%s samples every %%s ms\n\n',
               to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZ'),
               (SELECT to_char(stats_reset, 'YYYY-MM-DD HH24:MI:SS TZ') FROM info),
               (SELECT samples_taken FROM info), (SELECT sample_interval_ms FROM info))
        || coalesce((SELECT string_agg(
               format(E'application %%s\n  verdict     %%s\n  churn       %%s\n  reuse       %%s\n  ended       %%s\n  activity    %%s\n  last hour   %%s\n',
                      title, verdict_line, churn_line, reuse_line, ends_line, activity_line, hour_line),
               E'\n' ORDER BY connections DESC, name, db, role) FROM lines WHERE NOT hidden), '')
        || (SELECT CASE WHEN count(*) = 0 THEN E'no application seen yet\n' ELSE '' END FROM lines)
        || (SELECT CASE WHEN count(*) > 0 THEN format(E'\n%%s %%s of other roles: their figures are hidden (members of pg_read_all_stats see them)\n',
                                                    count(*), CASE WHEN count(*) = 1 THEN 'application' ELSE 'applications' END)
                        ELSE '' END FROM lines WHERE hidden)
        || (SELECT format(E'\nserver: %%s of %%s usable connections open (%%s at most), %%s spare; the applications'' pools add up to %%s\n  verdict     %%s: %%s\n',
                          client_connections, max_connections - reserved_connections,
                          client_connections_max, spare_connections, recommended_total,
                          verdict, reason) FROM srv)
    ELSE
        format(E'# pgpool_stats report\n\n%%s; statistics since %%s, %%s samples every %%s ms.\n\n',
               to_char(now(), 'YYYY-MM-DD HH24:MI:SS TZ'),
               (SELECT to_char(stats_reset, 'YYYY-MM-DD HH24:MI:SS TZ') FROM info),
               (SELECT samples_taken FROM info), (SELECT sample_interval_ms FROM info))
        || E'## Applications\n\n'
        || E'| application | database | role | verdict | pool | connections/s | transactions | reuse | abandoned | fatal | killed | open now | last hour, open | last hour, active |\n'
        || E'|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n'
        || coalesce((SELECT string_agg(format(E'| %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s | %%s |\n',
               md_name, md_db, md_role,
               coalesce(verdict, '-'),
               CASE WHEN verdict = 'insufficient_data' THEN '-' ELSE coalesce(nullif(pool, 0)::text, '-') END,
               coalesce(round(per_sec::numeric, 3)::text, '-'),
               coalesce(xacts::text, '-'),
               coalesce(round((100 * reuse)::numeric, 1)::text || '%%', '-'),
               coalesce(abandoned::text, '-'), coalesce(fatal::text, '-'), coalesce(killed::text, '-'),
               coalesce(total::text, '-'),
               coalesce(nullif(total_line, ''), '-'), coalesce(nullif(active_line, ''), '-')),
               '' ORDER BY connections DESC, name, db, role) FROM lines WHERE NOT hidden),
                    (SELECT CASE WHEN count(*) = 0 THEN E'| no application seen yet |||||||||||||\n' ELSE '' END FROM lines))
        || (SELECT CASE WHEN count(*) > 0 THEN format(E'\n%%s %%s of other roles: their figures are hidden (members of pg_read_all_stats see them).\n',
                                                    count(*), CASE WHEN count(*) = 1 THEN 'application' ELSE 'applications' END)
                        ELSE '' END FROM lines WHERE hidden)
        || coalesce((SELECT string_agg(
               format(E'\n### %%s\n\n- **Verdict:** %%s\n- **Churn:** %%s\n- **Reuse:** %%s\n- **Ended:** %%s\n- **Activity:** %%s\n- **Last hour:** %%s\n',
                      md_title, verdict_line, churn_line, reuse_line, ends_line, activity_line, hour_line),
               '' ORDER BY connections DESC, name, db, role) FROM lines WHERE NOT hidden), '')
        || (SELECT format(E'\n## Server\n\n| usable connections | open now | at most | spare | pools add up to | verdict |\n|---:|---:|---:|---:|---:|---|\n| %%s | %%s | %%s | %%s | %%s | %%s |\n\n%%s\n',
                          max_connections - reserved_connections, client_connections,
                          client_connections_max, spare_connections, recommended_total,
                          verdict, reason) FROM srv)
    END
    $q$, ext, md) INTO result;
    RETURN result;
END
$report$;

-- What pools of other sizes would do, per instance (the C part; read it
-- through pgpool_stats_what_if)
CREATE FUNCTION pgpool_stats_what_if_keys(
    text,
    integer,
    integer,
    double precision,
    double precision,
    interval,
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT span_start timestamp with time zone,
    OUT span_end timestamp with time zone,
    OUT span_s double precision,
    OUT transactions bigint,
    OUT transactions_per_sec double precision,
    OUT hold_avg_ms double precision,
    OUT hold_variability double precision,
    OUT busy_avg double precision,
    OUT busy_dispersion double precision,
    OUT arrival_burstiness double precision,
    OUT pool_size integer,
    OUT utilization double precision,
    OUT wait_share double precision,
    OUT wait_avg_ms double precision,
    OUT wait_p95_ms double precision,
    OUT wait_p99_ms double precision,
    OUT meets_target boolean,
    OUT smallest_pool_size integer,
    OUT wait_target_ms double precision
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_what_if_keys_1_4'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- What would a pool of pool_size (or of each size up to pool_size_max)
-- connections per instance make this application's transactions wait, at
-- rate_factor times the rate measured (3: three times the traffic)?  Both
-- sizes NULL: from the smallest pool that keeps up to the smallest whose
-- p99 wait is within wait_target_ms (NULL: pgpool_stats.wait_target).  One
-- row per instance (client address) and size, of every database and role
-- unless datname or usename says which.  The load is the instance's in the
-- busiest span of its history (the consecutive closed buckets, at most span
-- long, with the most transactions; NULL: pgpool_stats.busiest_span), or
-- over its whole window when span is 0 or its history fits in the span.
CREATE FUNCTION pgpool_stats_what_if(
    application_name text,
    pool_size integer DEFAULT NULL,
    pool_size_max integer DEFAULT NULL,
    wait_target_ms double precision DEFAULT NULL,
    rate_factor double precision DEFAULT 1,
    datname name DEFAULT NULL,
    usename name DEFAULT NULL,
    span interval DEFAULT NULL,
    OUT datname name,
    OUT usename name,
    OUT client_addr inet,
    OUT span_start timestamp with time zone,
    OUT span_end timestamp with time zone,
    OUT span_s double precision,
    OUT transactions bigint,
    OUT transactions_per_sec double precision,
    OUT hold_avg_ms double precision,
    OUT hold_variability double precision,
    OUT busy_avg double precision,
    OUT busy_dispersion double precision,
    OUT arrival_burstiness double precision,
    OUT pool_size integer,
    OUT utilization double precision,
    OUT wait_share double precision,
    OUT wait_avg_ms double precision,
    OUT wait_p95_ms double precision,
    OUT wait_p99_ms double precision,
    OUT meets_target boolean,
    OUT smallest_pool_size integer,
    OUT wait_target_ms double precision
)
RETURNS SETOF record
LANGUAGE sql VOLATILE PARALLEL SAFE
BEGIN ATOMIC
    SELECT d.datname, r.rolname, s.client_addr, s.span_start, s.span_end,
           s.span_s, s.transactions,
           s.transactions_per_sec, s.hold_avg_ms, s.hold_variability, s.busy_avg,
           s.busy_dispersion, s.arrival_burstiness, s.pool_size,
           s.utilization, s.wait_share, s.wait_avg_ms, s.wait_p95_ms,
           s.wait_p99_ms, s.meets_target, s.smallest_pool_size,
           s.wait_target_ms
      FROM pgpool_stats_what_if_keys($1, $2, $3, $4, $5, $8) s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid
     WHERE ($6 IS NULL OR d.datname = $6)
       AND ($7 IS NULL OR r.rolname = $7)
     ORDER BY d.datname, r.rolname, s.client_addr, s.pool_size;
END;

-- The wait model alone: what a pool of pool_size connections would make a
-- load of transactions_per_sec, each holding its connection hold_avg_ms on
-- average, wait; arrival_burstiness 0 for arrivals at a fixed pace, 1 for
-- random ones (Poisson), more for bursts; hold_variability 0 for
-- transactions all as long, 1 for exponential ones, more for a long tail.
CREATE FUNCTION pgpool_stats_predict_wait(
    transactions_per_sec double precision,
    hold_avg_ms double precision,
    pool_size integer,
    arrival_burstiness double precision DEFAULT 1,
    hold_variability double precision DEFAULT 1,
    OUT utilization double precision,
    OUT wait_share double precision,
    OUT wait_avg_ms double precision,
    OUT wait_p95_ms double precision,
    OUT wait_p99_ms double precision
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_predict_wait_1_4'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- Take a sample now; returns the number of client sessions it saw.
-- sample() and reset() change only the extension's shared memory, which
-- every process of the server attaches, parallel workers included: they are
-- PARALLEL SAFE, as the server's pg_stat_reset() is.
CREATE FUNCTION pgpool_stats_sample()
RETURNS integer
AS 'MODULE_PATHNAME', 'pgpool_stats_sample_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE FUNCTION pgpool_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pgpool_stats_reset_1_1'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pgpool_stats_sample() FROM PUBLIC;
REVOKE ALL ON FUNCTION pgpool_stats_reset() FROM PUBLIC;

GRANT SELECT ON pgpool_stats_connections TO PUBLIC;
GRANT SELECT ON pgpool_stats_activity TO PUBLIC;
GRANT SELECT ON pgpool_stats_history TO PUBLIC;
GRANT SELECT ON pgpool_stats_recommendations TO PUBLIC;
GRANT SELECT ON pgpool_stats_server TO PUBLIC;
GRANT SELECT ON pgpool_stats_info TO PUBLIC;
GRANT SELECT ON pgpool_stats_memory TO PUBLIC;

COMMENT ON FUNCTION pgpool_stats_connections() IS
    'connection churn per key; read it through the view pgpool_stats_connections';
COMMENT ON VIEW pgpool_stats_connections IS
    'connection churn per (database, role, application_name, client address): connections opened and closed, failed logins, session lifetimes, setup time, transactions and statements per connection, and how sessions ended';
COMMENT ON FUNCTION pgpool_stats_activity() IS
    'sampled session states per key; read it through the view pgpool_stats_activity';
COMMENT ON VIEW pgpool_stats_activity IS
    'what each key''s sessions are doing: the latest sample''s states, the maximum, mean and percentiles of active sessions over the window, and sparklines of active and open connections over the recent history';
COMMENT ON FUNCTION pgpool_stats_history() IS
    'closed history buckets per key; read it through the view pgpool_stats_history';
COMMENT ON VIEW pgpool_stats_history IS
    'the bounded history: one row per closed bucket of history_interval and key that had sessions or connections in it';
COMMENT ON FUNCTION pgpool_stats_recommendations() IS
    'pool-sizing advice per application; read it through the view pgpool_stats_recommendations';
COMMENT ON VIEW pgpool_stats_recommendations IS
    'per (database, role, application_name): busy connections per client instance (percentiles and bursts), the recommended pool, a verdict and its reason; whether it is a pooler, or seen only through one';
COMMENT ON FUNCTION pgpool_stats_server() IS
    'the server''s connection slots and verdict; read it through the view pgpool_stats_server';
COMMENT ON VIEW pgpool_stats_server IS
    'client connections against max_connections less the reserved slots, the applications'' recommended pools added up, a verdict and its reason';
COMMENT ON FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer, integer, boolean, double precision, double precision, double precision, double precision, double precision) IS
    'an application''s pool-sizing rules over given figures: the verdict, pool, minimum idle and reason they give';
COMMENT ON FUNCTION pgpool_stats_advise_server(integer, integer, bigint, bigint, bigint, bigint, double precision) IS
    'the server''s rules over given figures: the verdict and reason they give';
COMMENT ON FUNCTION pgpool_stats_info() IS
    'the extension''s own figures; read it through the view pgpool_stats_info';
COMMENT ON VIEW pgpool_stats_info IS
    'the extension itself: the sampler, the keys, the history and the shared memory';
COMMENT ON FUNCTION pgpool_stats_memory() IS
    'the parts of the extension''s shared memory; read it through the view pgpool_stats_memory';
COMMENT ON VIEW pgpool_stats_memory IS
    'the extension''s shared memory region by part: items, bytes per item, bytes';
COMMENT ON FUNCTION pgpool_stats_sample() IS
    'takes a sample now and returns the client sessions it saw';
COMMENT ON FUNCTION pgpool_stats_reset() IS
    'forgets every statistic but the open connections of live sessions';
COMMENT ON FUNCTION pgpool_stats_pool_check_keys(text, integer, integer) IS
    'a configured pool''s use per key; read it through pgpool_stats_pool_check()';
COMMENT ON FUNCTION pgpool_stats_pool_check(text, integer, integer, name, name) IS
    'how each instance of an application used a pool of pool_size plus max_overflow connections: busy percentiles as a share of the pool, time above 85%, time in and at the end of the overflow, a verdict and its reason';
COMMENT ON FUNCTION pgpool_stats_sparkline(integer[]) IS
    'the sparkline of a series of counts, as the activity view draws its trends';
COMMENT ON FUNCTION pgpool_stats_report(text) IS
    'the whole picture in one text: per application churn, reuse, session ends, activity with the last hour''s sparklines, verdict and reason, then the server; format ''text'' or ''markdown''';

COMMENT ON FUNCTION pgpool_stats_what_if_keys(text, integer, integer, double precision, double precision, interval) IS
    'what pools of other sizes would make each key''s transactions wait; read it through pgpool_stats_what_if()';
COMMENT ON FUNCTION pgpool_stats_what_if(text, integer, integer, double precision, double precision, name, name, interval) IS
    'what a pool of pool_size (to pool_size_max) connections per instance would make an application''s transactions wait, predicted from its measured rate, hold time, spread of holds and burstiness: the share that waits, mean, p95 and p99 wait, utilization, and the smallest pool within the wait target';
COMMENT ON FUNCTION pgpool_stats_predict_wait(double precision, double precision, integer, double precision, double precision) IS
    'the wait model alone: utilization, share of transactions that wait, mean, p95 and p99 wait of a pool of pool_size for a given rate, hold time, burstiness and spread of holds';
