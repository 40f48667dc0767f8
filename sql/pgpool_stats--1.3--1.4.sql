/* pgpool_stats--1.3--1.4.sql: update of pgpool_stats from 1.3 to 1.4 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgpool_stats UPDATE TO '1.4'" to load this file. \quit

-- 1.4 adds what_if(): what pools of other sizes would make an application's
-- transactions wait, predicted from its measured load; the recommendations
-- use that prediction, and advise() takes the load.  A function's arguments
-- cannot change in place, so advise() goes and comes back, with the
-- privileges of a fresh install (EXECUTE for everyone).
DROP FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer, integer, boolean);

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

COMMENT ON FUNCTION pgpool_stats_advise(bigint, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, integer, integer, double precision, bigint, double precision, bigint, integer, integer, double precision, integer, integer, integer, boolean, double precision, double precision, double precision, double precision, double precision) IS
    'an application''s pool-sizing rules over given figures: the verdict, pool, minimum idle and reason they give';

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

COMMENT ON FUNCTION pgpool_stats_what_if_keys(text, integer, integer, double precision, double precision, interval) IS
    'what pools of other sizes would make each key''s transactions wait; read it through pgpool_stats_what_if()';
COMMENT ON FUNCTION pgpool_stats_what_if(text, integer, integer, double precision, double precision, name, name, interval) IS
    'what a pool of pool_size (to pool_size_max) connections per instance would make an application''s transactions wait, predicted from its measured rate, hold time, spread of holds and burstiness: the share that waits, mean, p95 and p99 wait, utilization, and the smallest pool within the wait target';
COMMENT ON FUNCTION pgpool_stats_predict_wait(double precision, double precision, integer, double precision, double precision) IS
    'the wait model alone: utilization, share of transactions that wait, mean, p95 and p99 wait of a pool of pool_size for a given rate, hold time, burstiness and spread of holds';
