/* pgpool_stats--1.0.sql: install script of pgpool_stats 1.0 */

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
AS 'MODULE_PATHNAME', 'pgpool_stats_connections_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_connections AS
    SELECT d.datname,
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
    OUT peak_total integer,
    OUT peak_active integer,
    OUT avg_active double precision,
    OUT p95_active double precision,
    OUT p99_active double precision,
    OUT longest_idle_in_transaction_s double precision,
    OUT samples bigint,
    OUT last_sample timestamp with time zone,
    OUT active_trend text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_activity_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_activity AS
    SELECT d.datname,
           r.rolname AS usename,
           s.application_name,
           s.client_addr,
           s.total,
           s.active,
           s.idle,
           s.idle_in_transaction,
           s.idle_in_transaction_aborted,
           s.waiting,
           s.peak_total,
           s.peak_active,
           s.avg_active,
           s.p95_active,
           s.p99_active,
           s.longest_idle_in_transaction_s,
           s.samples,
           s.last_sample,
           s.active_trend
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
    OUT avg_total double precision,
    OUT max_total integer,
    OUT avg_active double precision,
    OUT max_active integer,
    OUT max_idle_in_transaction integer,
    OUT connections integer,
    OUT disconnections integer
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_history_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_history AS
    SELECT s.bucket_start,
           s.bucket_end,
           d.datname,
           r.rolname AS usename,
           s.application_name,
           s.client_addr,
           s.samples,
           s.avg_total,
           s.max_total,
           s.avg_active,
           s.max_active,
           s.max_idle_in_transaction,
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
    OUT peak_active integer,
    OUT p95_busy double precision,
    OUT p99_busy double precision,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT verdict text,
    OUT reason text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgpool_stats_recommendations_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_recommendations AS
    SELECT d.datname,
           r.rolname AS usename,
           s.application_name,
           s.clients,
           s.open_connections,
           s.peak_active,
           s.p95_busy,
           s.p99_busy,
           s.recommended_pool_size,
           s.recommended_min_idle,
           s.verdict,
           s.reason
      FROM pgpool_stats_recommendations() s
      LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid
      LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid;

-- The server as a whole
CREATE FUNCTION pgpool_stats_server(
    OUT max_connections integer,
    OUT reserved_connections integer,
    OUT client_connections bigint,
    OUT peak_client_connections integer,
    OUT headroom bigint,
    OUT recommended_total bigint,
    OUT verdict text,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_server_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_server AS
    SELECT * FROM pgpool_stats_server();

-- The rules over given figures: what-ifs, and tests of every boundary
CREATE FUNCTION pgpool_stats_advise(
    samples bigint,
    connects_per_sec double precision DEFAULT 0,
    session_p50_ms double precision DEFAULT NULL,
    setup_share double precision DEFAULT NULL,
    busy_p50 double precision DEFAULT 0,
    busy_p95 double precision DEFAULT 0,
    busy_p99 double precision DEFAULT 0,
    typical_open double precision DEFAULT 0,
    saturated_share double precision DEFAULT 0,
    iit_share double precision DEFAULT 0,
    longest_iit_s double precision DEFAULT 0,
    headroom_pct double precision DEFAULT NULL,
    short_session_ms double precision DEFAULT NULL,
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_advise_1_0'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- The extension itself
CREATE FUNCTION pgpool_stats_info(
    OUT sample_interval_ms integer,
    OUT samples_taken bigint,
    OUT last_sample timestamp with time zone,
    OUT avg_sample_us double precision,
    OUT max_sample_us double precision,
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
AS 'MODULE_PATHNAME', 'pgpool_stats_info_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_info AS
    SELECT * FROM pgpool_stats_info();

-- Take a sample now; returns the number of client sessions it saw
CREATE FUNCTION pgpool_stats_sample()
RETURNS integer
AS 'MODULE_PATHNAME', 'pgpool_stats_sample_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION pgpool_stats_sample() FROM PUBLIC;

CREATE FUNCTION pgpool_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pgpool_stats_reset_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pgpool_stats_reset() FROM PUBLIC;

GRANT SELECT ON pgpool_stats_connections TO PUBLIC;
GRANT SELECT ON pgpool_stats_activity TO PUBLIC;
GRANT SELECT ON pgpool_stats_history TO PUBLIC;
GRANT SELECT ON pgpool_stats_recommendations TO PUBLIC;
GRANT SELECT ON pgpool_stats_server TO PUBLIC;
GRANT SELECT ON pgpool_stats_info TO PUBLIC;
