-- pgpool_stats_connections: the contract's columns, this session's own row,
-- reset, and who sees what.
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_connections'::regclass AND attnum > 0
 ORDER BY attnum;

-- pg_regress names each test's session: this key is this session only.
SELECT datname = current_database() AS this_db,
       usename = current_user AS this_role,
       client_addr IS NULL AS unix_socket,
       connections, disconnections, open_connections, auth_failures,
       login_failures,
       session_avg_ms IS NULL AS no_ended_session,
       setup_avg_ms > 0 AS setup_measured,
       first_seen <= last_connect AS ordered,
       stats_reset <= first_seen AS after_reset
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');

-- A reset forgets everything but the open connections of live sessions.
SELECT pgpool_stats_reset();
SELECT connections, disconnections, open_connections,
       stats_reset > now() - interval '1 hour' AS reset_recorded
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');
SELECT entries, evicted, dropped FROM pgpool_stats_info;

-- Only superusers (and whoever is granted it) may reset.
CREATE ROLE pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT pgpool_stats_reset();

-- Other roles' rows are shown as pg_stat_activity shows their sessions:
-- what names them (database, role, application_name), not where they come
-- from or what they do (client_addr and every figure NULL).
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND usename IS NOT NULL) AS named,
       bool_and(client_addr IS NULL AND connections IS NULL AND auth_failures IS NULL
                AND open_connections IS NULL AND first_seen IS NULL
                AND last_connect IS NULL) AS figures_hidden,
       bool_and(stats_reset IS NOT NULL) AS stats_reset_shown
  FROM pgpool_stats_connections;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND client_addr IS NULL AND total IS NULL
                AND samples IS NULL AND active_trend IS NULL) AS figures_hidden
  FROM pgpool_stats_activity;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND open_connections IS NULL
                AND verdict IS NULL AND reason IS NULL) AS figures_hidden
  FROM pgpool_stats_recommendations;
RESET ROLE;

-- Members of a role see its rows, as in pg_stat_activity.
CREATE ROLE pgps_regress_member;
SELECT current_user AS me \gset
GRANT :"me" TO pgps_regress_member;
SET ROLE pgps_regress_member;
SELECT count(*) FILTER (WHERE usename = :'me') AS own_rows,
       count(*) FILTER (WHERE usename = :'me' AND connections IS NOT NULL) AS shown
  FROM pgpool_stats_connections;
RESET ROLE;
DROP ROLE pgps_regress_member;

-- Members of pg_read_all_stats see them.
GRANT pg_read_all_stats TO pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND connections IS NOT NULL) AS shown
  FROM pgpool_stats_connections;
RESET ROLE;

-- Granting reset works like any function grant.
GRANT EXECUTE ON FUNCTION pgpool_stats_reset() TO pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT pgpool_stats_reset();
RESET ROLE;
DROP OWNED BY pgps_regress_user;
DROP ROLE pgps_regress_user;
