-- pgpool_stats_info and the settings.
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_info'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT sample_interval_ms, max_entries, entries >= 1 AS has_entries, dropped,
       samples_taken > 0 AS sampled, worker_pid IS NOT NULL AS worker_running,
       sample_avg_us <= sample_max_us AS sample_times,
       shmem_bytes = (SELECT size FROM pg_shmem_allocations
                       WHERE name = 'pgpool_stats') AS shmem_as_allocated,
       shmem_bytes < 16 * 1024 * 1024 AS within_16mb
  FROM pgpool_stats_info;
-- the worker is a background worker of its own type
SELECT backend_type, wait_event_type
  FROM pg_stat_activity
 WHERE pid = (SELECT worker_pid FROM pgpool_stats_info);

SELECT name, setting, unit, vartype, context, min_val, max_val, boot_val
  FROM pg_settings
 WHERE name LIKE 'pgpool_stats.%'
 ORDER BY name;

-- Out-of-range values are refused with their limits.
ALTER SYSTEM SET pgpool_stats.short_session = 0;
ALTER SYSTEM SET pgpool_stats.idle_in_transaction_threshold = '2h';
ALTER SYSTEM SET pgpool_stats.sample_interval = 5;
ALTER SYSTEM SET pgpool_stats.history_interval = '2 days';
ALTER SYSTEM SET pgpool_stats.history_size = 1;
ALTER SYSTEM SET pgpool_stats.max_entries = 5;
ALTER SYSTEM SET pgpool_stats.track_client_addr = maybe;
-- and a setting that does not exist under the reserved prefix
SET pgpool_stats.no_such_setting = 1;

-- pgpool_stats_memory: the region's parts add up to it.
SELECT part, items > 0 AS has_items, item_bytes > 0 AS sized,
       bytes >= items * item_bytes AS holds_them
  FROM pgpool_stats_memory;
SELECT sum(bytes) = (SELECT shmem_bytes FROM pgpool_stats_info) AS adds_up,
       sum(bytes) = (SELECT size FROM pg_shmem_allocations WHERE name = 'pgpool_stats') AS as_allocated
  FROM pgpool_stats_memory;

-- SQL that declares other columns than the library fills (an install script
-- of another version) fails with a clear error, never a wrong row.
CREATE FUNCTION pgps_wrong_info(OUT a integer, OUT b integer) RETURNS record
    AS '$libdir/pgpool_stats', 'pgpool_stats_info_1_1' LANGUAGE C;
CREATE FUNCTION pgps_wrong_churn(OUT a oid, OUT b oid) RETURNS SETOF record
    AS '$libdir/pgpool_stats', 'pgpool_stats_connections_1_0' LANGUAGE C;
-- and one that declares other arguments
CREATE FUNCTION pgps_wrong_advise(bigint, double precision, OUT verdict text,
    OUT recommended_pool_size integer, OUT recommended_min_idle integer, OUT reason text)
    AS '$libdir/pgpool_stats', 'pgpool_stats_advise_1_2' LANGUAGE C;
SELECT * FROM pgps_wrong_info();
SELECT * FROM pgps_wrong_churn();
SELECT * FROM pgps_wrong_advise(600, 0);
DROP FUNCTION pgps_wrong_info();
DROP FUNCTION pgps_wrong_churn();
DROP FUNCTION pgps_wrong_advise(bigint, double precision);
