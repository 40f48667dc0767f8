-- The wait model alone, against what queueing theory knows exactly.
-- Random arrivals (burstiness 1) are M/M/c: 50 transactions/s holding a
-- connection 40 ms on average are 2 busy connections; a pool of 3 makes
-- Erlang C's 4/9 of them wait, 40/9 * 4 = 17.78 ms on average, and those
-- who wait wait 40 ms on average (exponentially), so the p99 is
-- 40 ln(100 * 4/9) = 151.7 ms.
SELECT round(utilization::numeric, 4) AS utilization,
       round(wait_share::numeric, 4) AS wait_share,
       round(wait_avg_ms::numeric, 2) AS wait_avg_ms,
       round(wait_p95_ms::numeric, 1) AS wait_p95_ms,
       round(wait_p99_ms::numeric, 1) AS wait_p99_ms
  FROM pgpool_stats_predict_wait(50, 40, 3);
-- Erlang C at other sizes: 2/9 * 8/23 ... the textbook's table for a = 2
SELECT c AS pool_size, round(wait_share::numeric, 4) AS wait_share,
       round(wait_avg_ms::numeric, 3) AS wait_avg_ms
  FROM generate_series(3, 8) c, pgpool_stats_predict_wait(50, 40, c, 1);
-- Arrivals at a fixed pace (burstiness 0) wait less: D/M/c, whose share
-- and mean wait for 50/s of 37.6 ms on 3 a simulation of 200,000 arrivals
-- put at 0.171 and 3.32 ms (Takacs' exact figures: 0.169, 3.31 ms)
SELECT round(wait_share::numeric, 3) AS wait_share,
       round(wait_avg_ms::numeric, 2) AS wait_avg_ms
  FROM pgpool_stats_predict_wait(50, 37.6, 3, 0);
-- burstier arrivals wait more, at every size
SELECT c AS pool_size,
       (SELECT wait_avg_ms FROM pgpool_stats_predict_wait(50, 40, c, 0)) <
       (SELECT wait_avg_ms FROM pgpool_stats_predict_wait(50, 40, c, 1)) AND
       (SELECT wait_avg_ms FROM pgpool_stats_predict_wait(50, 40, c, 1)) <
       (SELECT wait_avg_ms FROM pgpool_stats_predict_wait(50, 40, c, 4)) AS burstier_waits_longer
  FROM generate_series(3, 6) c;
-- a pool no larger than the busy connections cannot keep up
SELECT * FROM pgpool_stats_predict_wait(50, 40, 2);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 1);
-- a large pool, a large load: still Erlang C (exact to the 4th digit)
SELECT round(wait_share::numeric, 4) AS wait_share
  FROM pgpool_stats_predict_wait(2000, 43.65, 100);

-- Bad input: clear errors
SELECT * FROM pgpool_stats_predict_wait(0, 40, 3);
SELECT * FROM pgpool_stats_predict_wait('NaN', 40, 3);
SELECT * FROM pgpool_stats_predict_wait(50, 0, 3);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 0);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, -1);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, 21);
SELECT * FROM pgpool_stats_what_if(NULL, 3);
SELECT * FROM pgpool_stats_what_if('app', 0);
SELECT * FROM pgpool_stats_what_if('app', pool_size_max => 5);
SELECT * FROM pgpool_stats_what_if('app', 5, 4);
SELECT * FROM pgpool_stats_what_if('app', 1, 20000);
SELECT * FROM pgpool_stats_what_if('app', 3, wait_target_ms => -1);
SELECT * FROM pgpool_stats_what_if('app', 3, wait_target_ms => 'NaN');
SELECT * FROM pgpool_stats_what_if('app', 3, rate_factor => 0);
SELECT * FROM pgpool_stats_what_if('app', 3, rate_factor => 1001);
-- an application with no key: no row
SELECT count(*) FROM pgpool_stats_what_if('no such application');
