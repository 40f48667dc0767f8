/* pgpool_stats--1.1--1.2.sql: update of pgpool_stats from 1.1 to 1.2 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "ALTER EXTENSION pgpool_stats UPDATE TO '1.2'" to load this file. \quit

-- 1.2 adds the leaking verdict: advise() takes the figures of a leak, and a
-- function's arguments cannot be added in place, so it goes and comes back
-- with them.  It is granted to PUBLIC, as in a fresh install; nothing else
-- changes.
DROP FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint);

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
    OUT verdict text,
    OUT recommended_pool_size integer,
    OUT recommended_min_idle integer,
    OUT reason text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pgpool_stats_advise_1_2'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer) IS
    'an application''s pool-sizing rules over given figures: the verdict, pool, minimum idle and reason they give';
