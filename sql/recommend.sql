-- The pool-sizing rules on their boundaries, through pgpool_stats_advise()
-- (headroom 20%, short sessions under 1000 ms, unless given).
\pset format unaligned
\pset fieldsep ' | '

-- recommended_pool_size = max(1, ceil(p99_busy x (1 + headroom)))
SELECT p99, headroom, (pgpool_stats_advise(600, busy_p99 => p99, headroom_pct => headroom)).recommended_pool_size
  FROM (VALUES (0, 20), (0.5, 20), (1, 20), (5, 20), (5, 0), (10, 20), (2.5, 100)) v(p99, headroom);
-- recommended_min_idle = ceil(median busy)
SELECT p50, (pgpool_stats_advise(600, busy_p50 => p50, busy_p95 => 9, busy_p99 => 9)).recommended_min_idle
  FROM (VALUES (0), (0.2), (1), (1.5)) v(p50);

-- insufficient_data: fewer than 600 samples, whatever else
SELECT verdict FROM pgpool_stats_advise(599, connects_per_sec => 50, session_p50_ms => 10);
SELECT verdict FROM pgpool_stats_advise(600, connects_per_sec => 50, session_p50_ms => 10);

-- no_pooling: at least 1 connection/s and a median session under short_session_ms
SELECT cps, p50, (pgpool_stats_advise(600, connects_per_sec => cps, session_p50_ms => p50)).verdict
  FROM (VALUES (0.99, 10), (1.0, 10), (1.0, 999.9), (1.0, 1000), (5, NULL)) v(cps, p50);
SELECT verdict FROM pgpool_stats_advise(600, connects_per_sec => 5, session_p50_ms => 1500,
                                        short_session_ms => 2000);
SELECT reason FROM pgpool_stats_advise(600, connects_per_sec => 42, session_p50_ms => 12,
                                       setup_share => 0.31, busy_p99 => 3);

-- idle_in_transaction: in at least 5% of samples, or one longer than 10 s
SELECT share, longest, (pgpool_stats_advise(600, iit_share => share, longest_iit_s => longest)).verdict
  FROM (VALUES (0.0499, 0), (0.05, 0), (0, 10.0), (0, 10.01)) v(share, longest);
SELECT reason FROM pgpool_stats_advise(600, iit_share => 0.12, longest_iit_s => 95.5,
                                       busy_p50 => 1, busy_p95 => 1, busy_p99 => 1, typical_open => 2);

-- undersized: every connection busy in more than half of the samples
SELECT sat, p99, (pgpool_stats_advise(600, busy_p50 => p99, busy_p95 => p99, busy_p99 => p99,
                                      typical_open => 4, saturated_share => sat)).verdict
  FROM (VALUES (0.5, 4), (0.5001, 4), (1, 0)) v(sat, p99);
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 4, busy_p95 => 4, busy_p99 => 4, typical_open => 4,
                           saturated_share => 0.97);

-- oversized: typical open more than twice the pool and at least 5 more
SELECT p99, open, (pgpool_stats_advise(600, busy_p99 => p99, typical_open => open)).verdict
  FROM (VALUES (2, 7.9), (2, 8), (10, 24), (10, 24.1), (0, 5.9), (0, 6)) v(p99, open);
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 2, typical_open => 30);
SELECT p99, (pgpool_stats_advise(600, busy_p99 => p99, typical_open => 12)).reason
  FROM (VALUES (0), (1)) v(p99);

-- ok
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 3, typical_open => 4);

-- bad figures are refused
\pset format aligned
SELECT * FROM pgpool_stats_advise(-1);
SELECT * FROM pgpool_stats_advise(600, saturated_share => 1.5);
SELECT * FROM pgpool_stats_advise(600, busy_p95 => 3, busy_p99 => 2);
SELECT * FROM pgpool_stats_advise(600, typical_open => 'infinity');
SELECT * FROM pgpool_stats_advise(600, busy_p99 => 1e12);
SELECT * FROM pgpool_stats_advise(600, headroom_pct => 5000);
-- the largest figures allowed still give a pool size
SELECT recommended_pool_size FROM pgpool_stats_advise(600, busy_p99 => 262143, headroom_pct => 1000);

-- the views' columns
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_recommendations'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_server'::regclass AND attnum > 0
 ORDER BY attnum;
