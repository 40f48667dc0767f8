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

-- The extension itself
CREATE FUNCTION pgpool_stats_info(
    OUT entries bigint,
    OUT max_entries integer,
    OUT evicted bigint,
    OUT dropped bigint,
    OUT stats_reset timestamp with time zone,
    OUT shmem_bytes bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_info_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pgpool_stats_info AS
    SELECT * FROM pgpool_stats_info();

CREATE FUNCTION pgpool_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pgpool_stats_reset_1_0'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pgpool_stats_reset() FROM PUBLIC;

GRANT SELECT ON pgpool_stats_connections TO PUBLIC;
GRANT SELECT ON pgpool_stats_info TO PUBLIC;
