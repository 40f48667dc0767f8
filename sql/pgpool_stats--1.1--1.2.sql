/* pgpool_stats--1.1--1.2.sql: update of pgpool_stats from 1.1 to 1.2 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pgpool_stats UPDATE TO '1.2'" to load this file. \quit

-- 1.2 adds the leaking verdict and applications behind a pooler: advise()
-- takes their figures, and the recommendations say which rows are poolers
-- and which applications are seen only through one.  Neither a function's
-- arguments nor its columns can change in place, so those go and come back,
-- with the privileges of a fresh install (SELECT on the view for everyone,
-- EXECUTE on advise() for everyone).  Nothing else changes.
DROP VIEW pgpool_stats_recommendations;
DROP FUNCTION pgpool_stats_recommendations();
DROP FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint);

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

GRANT SELECT ON pgpool_stats_recommendations TO PUBLIC;

COMMENT ON FUNCTION pgpool_stats_recommendations() IS
    'pool-sizing advice per application; read it through the view pgpool_stats_recommendations';
COMMENT ON VIEW pgpool_stats_recommendations IS
    'per (database, role, application_name): busy connections per client instance (percentiles and bursts), the recommended pool, a verdict and its reason; whether it is a pooler, or seen only through one';
COMMENT ON FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer, integer, boolean) IS
    'an application''s pool-sizing rules over given figures: the verdict, pool, minimum idle and reason they give';
