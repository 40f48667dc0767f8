-- The pool-sizing rules on their boundaries, through pgpool_stats_advise()
-- (headroom 20%, short sessions under 1000 ms, unless given).
\pset format unaligned
\pset fieldsep ' | '

-- recommended_pool_size = max(1, ceil(busy_p99 x (1 + headroom)))
SELECT p99, headroom, (pgpool_stats_advise(600, busy_p99 => p99, headroom_pct => headroom)).recommended_pool_size
  FROM (VALUES (0, 20), (0.5, 20), (1, 20), (5, 20), (5, 0), (10, 20), (2.5, 100)) v(p99, headroom);
-- recommended_min_idle = ceil(median busy)
SELECT p50, (pgpool_stats_advise(600, busy_p50 => p50, busy_p95 => 9, busy_p99 => 9)).recommended_min_idle
  FROM (VALUES (0), (0.2), (1), (1.5)) v(p50);

-- insufficient_data: fewer than 600 samples, whatever else
SELECT verdict FROM pgpool_stats_advise(599, connects_per_sec => 50, session_p50_ms => 10);
SELECT verdict FROM pgpool_stats_advise(600, connects_per_sec => 50, session_p50_ms => 10);

-- leaking: at least 3 connections left behind in one instance while its
-- open connections grew by at least 3 since the oldest went idle
SELECT left_behind, before, now_open,
       (pgpool_stats_advise(600, leaked_connections => left_behind, leak_open_before => before,
                            leak_open_now => now_open, open_p50 => 40, busy_p99 => 4)).verdict
  FROM (VALUES (2, 10, 20), (3, 10, 20), (3, 10, 12), (3, 10, 13), (3, 0, 3)) v(left_behind, before, now_open);
-- it comes before every other rule but insufficient_data
SELECT verdict FROM pgpool_stats_advise(599, leaked_connections => 5, leak_open_before => 2, leak_open_now => 9);
SELECT verdict FROM pgpool_stats_advise(600, connects_per_sec => 50, session_p50_ms => 10,
                                        idle_in_transaction_share => 0.5, saturated_share => 1,
                                        leaked_connections => 5, leak_open_before => 2, leak_open_now => 9);
-- the pool is sized on the demand that is left: a held connection is none
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 2, busy_p95 => 3, busy_p99 => 4, open_p50 => 20,
                           leaked_connections => 16, leaked_in_transaction => 5,
                           leaked_idle_max_s => 95.4, leak_open_before => 12, leak_open_now => 28);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 1, instances => 3, leaked_connections => 3,
                                       leaked_idle_max_s => 61, leak_open_before => 4, leak_open_now => 8);
-- bad figures of a leak
SELECT * FROM pgpool_stats_advise(600, leaked_connections => 5, leak_open_now => 4);
SELECT * FROM pgpool_stats_advise(600, leaked_connections => 5, leaked_in_transaction => 6);
SELECT * FROM pgpool_stats_advise(600, leaked_connections => -1);
SELECT * FROM pgpool_stats_advise(600, leaked_idle_max_s => 'NaN');

-- an application seen only through a pooler: no churn, idle connections or
-- pool of its own to judge; only idle_in_transaction, else ok with its share
-- of the pooler's server pool
SELECT verdict, recommended_pool_size, recommended_min_idle, reason
  FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 3, open_p50 => 3,
                           saturated_share => 1, connects_per_sec => 50, session_p50_ms => 10,
                           behind_pooler => true);
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p99 => 0, busy_burst => 6, behind_pooler => true);
SELECT verdict FROM pgpool_stats_advise(600, idle_in_transaction_share => 0.05, behind_pooler => true);
SELECT verdict FROM pgpool_stats_advise(599, behind_pooler => true);
-- a pooler's row: the usual rules over its server connections, said of its pool
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 2, busy_p95 => 3, busy_p99 => 4, open_p50 => 20,
                           pooled_apps => 3);
SELECT reason FROM pgpool_stats_advise(600, busy_p50 => 4, busy_p95 => 4, busy_p99 => 4, open_p50 => 4,
                                       saturated_share => 0.97, pooled_apps => 1);
SELECT * FROM pgpool_stats_advise(600, pooled_apps => 2, behind_pooler => true);

-- no_pooling: at least 1 connection/s and a median session under short_session_ms
SELECT cps, p50, (pgpool_stats_advise(600, connects_per_sec => cps, session_p50_ms => p50)).verdict
  FROM (VALUES (0.99, 10), (1.0, 10), (1.0, 999.9), (1.0, 1000), (5, NULL)) v(cps, p50);
SELECT verdict FROM pgpool_stats_advise(600, connects_per_sec => 5, session_p50_ms => 1500,
                                        short_session_ms => 2000);
-- ... over at least 10 connections: the rate of a couple is noise
SELECT n, (pgpool_stats_advise(600, connects_per_sec => 5, session_p50_ms => 10, connections => n)).verdict
  FROM (VALUES (9), (10)) v(n);
SELECT reason FROM pgpool_stats_advise(600, connects_per_sec => 42, session_p50_ms => 12,
                                       setup_share => 0.31, busy_p99 => 3);

-- idle_in_transaction: in at least 5% of samples, or one longer than 10 s
SELECT share, longest, (pgpool_stats_advise(600, idle_in_transaction_share => share, idle_in_transaction_max_s => longest)).verdict
  FROM (VALUES (0.0499, 0), (0.05, 0), (0, 10.0), (0, 10.01)) v(share, longest);
SELECT reason FROM pgpool_stats_advise(600, idle_in_transaction_share => 0.12, idle_in_transaction_max_s => 95.5,
                                       busy_p50 => 1, busy_p95 => 1, busy_p99 => 1, open_p50 => 2);

-- undersized: every connection busy in more than half of the samples of an
-- instance with at least one connection
SELECT sat, open, (pgpool_stats_advise(600, busy_p50 => 4, busy_p95 => 4, busy_p99 => 4,
                                       open_p50 => 4, saturated_share => sat,
                                       saturated_open_p50 => open)).verdict
  FROM (VALUES (0.5, 4), (0.5001, 4), (1, 0.9), (1, 1)) v(sat, open);
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 4, busy_p95 => 4, busy_p99 => 4, open_p50 => 4,
                           saturated_share => 0.97);

-- bursts: a pool serves the most busy connections seen in at least 3
-- samples, however rare, and the reason says so when they size it
SELECT burst, (pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 10, busy_burst => burst)).*
  FROM (VALUES (0), (2), (2.5), (10)) v(burst);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 30, busy_burst => 10);

-- undersized is judged per instance: any one instance full in most samples
SELECT inst, sat, (pgpool_stats_advise(600, busy_p50 => 2, busy_p95 => 4, busy_p99 => 4,
                                       open_p50 => 4, saturated_share => 0.97, instances => inst,
                                       saturated_instances => sat)).reason
  FROM (VALUES (1, 1), (2, 1), (3, 2)) v(inst, sat);
-- a full pool grows twice over (a few rounds find its size), within the
-- server's free slots
SELECT spare, (pgpool_stats_advise(600, busy_p99 => 4, open_p50 => 4, saturated_share => 0.97,
                                   spare_connections => spare)).recommended_pool_size
  FROM (VALUES (NULL::bigint), (10), (4), (3), (0)) v(spare);
SELECT spare, (pgpool_stats_advise(600, busy_p99 => 4, open_p50 => 4, saturated_share => 0.97,
                                   spare_connections => spare)).reason
  FROM (VALUES (2), (0)) v(spare);
-- the free slots are shared by the full instances: 2 of them, 6 free
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p99 => 4, open_p50 => 4, saturated_share => 0.97,
                           instances => 3, saturated_instances => 2, spare_connections => 6);
-- the full instance's own pool is what grows
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p99 => 3, open_p50 => 3, saturated_share => 0.9,
                           instances => 2, saturated_open_p50 => 10);

-- oversized: typical open more than twice the pool and at least 5 more
SELECT p99, open, (pgpool_stats_advise(600, busy_p99 => p99, open_p50 => open)).verdict
  FROM (VALUES (2, 7.9), (2, 8), (10, 24), (10, 24.1), (0, 5.9), (0, 6)) v(p99, open);
SELECT recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 2, open_p50 => 30);
SELECT p99, (pgpool_stats_advise(600, busy_p99 => p99, open_p50 => 12)).reason
  FROM (VALUES (0), (1)) v(p99);

-- ok
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 3, open_p50 => 4);

-- the wait model: given an instance's load (100 transactions/s holding 30 ms
-- each: 3 connections busy on average), the pool is the smallest whose p99
-- wait is within the target, and the reason quotes the waits it predicts
-- of that pool and of one less
SELECT verdict, recommended_pool_size,
       recommended_pool_size = (SELECT min(n) FROM generate_series(1, 50) n
                                 WHERE (pgpool_stats_predict_wait(100, 30, n)).wait_p99_ms <= 10)
         AS smallest_within_target,
       reason
  FROM pgpool_stats_advise(600, busy_p50 => 3, busy_p95 => 6, busy_p99 => 7, open_p50 => 8,
                           transactions_per_sec => 100, hold_avg_ms => 30, wait_target_ms => 10);
-- it only lowers the pool the busy connections ask for (p99 7 with 20%
-- headroom: 9): a longer target makes do with fewer, more alike holds and
-- smoother arrivals too, but burstier ones never ask for more than 9 (a
-- client's bursts cannot outnumber its workers, which the model cannot see)
SELECT target, var, burst,
       (pgpool_stats_advise(600, busy_p99 => 7, open_p50 => 8, transactions_per_sec => 100,
                            hold_avg_ms => 30, hold_variability => var,
                            arrival_burstiness => burst, wait_target_ms => target)).recommended_pool_size
  FROM (VALUES (10, 1, 1), (100, 1, 1), (0, 1, 1), (10, 0, 1), (10, 1, 0), (10, 4, 4)) v(target, var, burst);
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p99 => 1, busy_burst => 10, open_p50 => 10,
                           transactions_per_sec => 3.3, hold_avg_ms => 50, arrival_burstiness => 20);
-- never more kept idle than the pool holds; a load no pool the server could
-- hold serves: the percentiles alone
SELECT verdict, recommended_pool_size, recommended_min_idle
  FROM pgpool_stats_advise(600, busy_p50 => 8, busy_p95 => 8, busy_p99 => 9, open_p50 => 9,
                           transactions_per_sec => 1, hold_avg_ms => 5);
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p99 => 5, open_p50 => 6,
                           transactions_per_sec => 1000000, hold_avg_ms => 1000);
-- transactions shorter than 5 ms: the pool also holds its connection for
-- the round trips around them, which the server does not see; the
-- percentiles alone
SELECT hold, (pgpool_stats_advise(600, busy_p99 => 2, open_p50 => 4, transactions_per_sec => 100,
                                  hold_avg_ms => hold)).recommended_pool_size
  FROM (VALUES (4.9), (5)) v(hold);
-- oversized: typical open more than twice the predicted pool, and 5 more
SELECT verdict, recommended_pool_size, reason
  FROM pgpool_stats_advise(600, busy_p50 => 3, busy_p95 => 6, busy_p99 => 7, open_p50 => 20,
                           transactions_per_sec => 100, hold_avg_ms => 30, wait_target_ms => 10);
-- a pool every instance needs, said per instance
SELECT reason
  FROM pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 2, instances => 3,
                           transactions_per_sec => 2, hold_avg_ms => 5, wait_target_ms => 10);
-- a full pool's saturation still decides: its rate is what the pool let through
SELECT verdict, recommended_pool_size
  FROM pgpool_stats_advise(600, busy_p99 => 4, open_p50 => 4, saturated_share => 0.9,
                           transactions_per_sec => 100, hold_avg_ms => 30);

-- the words: one connection, figures per instance
SELECT reason FROM pgpool_stats_advise(600, connects_per_sec => 5, session_p50_ms => 10);
SELECT reason FROM pgpool_stats_advise(600, open_p50 => 1);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 1);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 0);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 1, open_p50 => 1, saturated_share => 0.9);
SELECT reason FROM pgpool_stats_advise(600, busy_p99 => 2, open_p50 => 30, instances => 3);
SELECT reason FROM pgpool_stats_advise(600, busy_p50 => 1, busy_p95 => 2, busy_p99 => 3, open_p50 => 4,
                                       instances => 2);

-- bad figures are refused
\pset format aligned
SELECT * FROM pgpool_stats_advise(-1);
SELECT * FROM pgpool_stats_advise(600, saturated_share => 1.5);
SELECT * FROM pgpool_stats_advise(600, busy_p95 => 3, busy_p99 => 2);
SELECT * FROM pgpool_stats_advise(600, open_p50 => 'infinity');
SELECT * FROM pgpool_stats_advise(600, busy_p99 => 1e12);
SELECT * FROM pgpool_stats_advise(600, headroom_pct => 5000);
SELECT * FROM pgpool_stats_advise(600, instances => 0);
SELECT * FROM pgpool_stats_advise(600, instances => 2, saturated_instances => 3);
SELECT * FROM pgpool_stats_advise(600, spare_connections => -1);
SELECT * FROM pgpool_stats_advise(600, busy_burst => -1);
SELECT * FROM pgpool_stats_advise(600, transactions_per_sec => 100);
SELECT * FROM pgpool_stats_advise(600, transactions_per_sec => 100, hold_avg_ms => 0);
SELECT * FROM pgpool_stats_advise(600, transactions_per_sec => 100, hold_avg_ms => 30,
                                  arrival_burstiness => 50);
SELECT * FROM pgpool_stats_advise(600, transactions_per_sec => 100, hold_avg_ms => 30,
                                  wait_target_ms => -1);
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

-- The server's rules on their boundaries, through pgpool_stats_advise_server()
-- (100 usable slots: max_connections 103 less 3 reserved).
\pset format unaligned
-- over_committed: the recommended pools add up to more than the usable slots
SELECT total, (pgpool_stats_advise_server(103, 3, recommended_total => total)).verdict
  FROM (VALUES (100), (101)) v(total);
-- near_limit: client connections peaked at 90% of them, now or before
SELECT now_open, peak, (pgpool_stats_advise_server(103, 3, client_connections => now_open,
                                                   client_connections_max => peak)).verdict
  FROM (VALUES (0, 89), (0, 90), (90, 0), (89, 89)) v(now_open, peak);
-- over_committed comes first
SELECT verdict FROM pgpool_stats_advise_server(103, 3, client_connections_max => 95,
                                               recommended_total => 101);
-- a server-side pooler: at least 10 open connections, half of them idle
SELECT open, idle, (pgpool_stats_advise_server(103, 3, client_connections => open,
                                               open_connections => open,
                                               idle_connections => idle)).reason
  FROM (VALUES (9, 9), (10, 4.9), (10, 5)) v(open, idle);
SELECT reason FROM pgpool_stats_advise_server(103, 3, client_connections => 95, open_connections => 95,
                                              idle_connections => 80, recommended_total => 101);
SELECT reason FROM pgpool_stats_advise_server(103, 3, recommended_total => 101);
SELECT reason, available_connections, peak_connections, spare_connections
  FROM pgpool_stats_advise_server(103, 3, client_connections => 92, client_connections_max => 91);
-- the server's own settings by default
SELECT available_connections = current_setting('max_connections')::int
                               - current_setting('superuser_reserved_connections')::int
                               - coalesce(current_setting('reserved_connections', true)::int, 0)
       AS own_settings
  FROM pgpool_stats_advise_server();
\pset format aligned
-- bad figures are refused
SELECT * FROM pgpool_stats_advise_server(100, 3, open_connections => 5, idle_connections => 6);
SELECT * FROM pgpool_stats_advise_server(100, 3, client_connections => -1);
SELECT * FROM pgpool_stats_advise_server(300000);
