/* pgpool_stats--1.2.sql: install script of pgpool_stats 1.2 */

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
    OUT first_seen timestamp with time zone,
    OUT last_connect timestamp with time zone,
    OUT stats_reset timestamp with time zone
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_connections_1_1'
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
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_advise_1_2'
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
    'connection churn per (database, role, application_name, client address): connections opened and closed, failed logins, session lifetimes, setup time';
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
COMMENT ON FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer, integer, boolean) IS
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
