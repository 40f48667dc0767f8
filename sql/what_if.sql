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
-- Transactions all as long wait half as long as exponential ones (the
-- waits of M/D/c against M/M/c, Lee and Longton), those with a long tail
-- longer; who waits is the exponential holds' share
SELECT v AS hold_variability, round(wait_share::numeric, 4) AS wait_share,
       round(wait_avg_ms::numeric, 2) AS wait_avg_ms
  FROM (VALUES (0), (1), (4)) x(v), pgpool_stats_predict_wait(50, 40, 3, 1, v);
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
SELECT round(wait_share::numeric, 4) AS wait_share
  FROM pgpool_stats_predict_wait(58010, 50, 2950);
-- Regular arrivals at a light load almost never wait: 2.5/s of 20 ms on a
-- pool of 1 (the next arrives 400 ms later; a hold that long is e^-20)
SELECT wait_share < 1e-8 AS almost_never, wait_p99_ms
  FROM pgpool_stats_predict_wait(2.5, 20, 1, 0);
-- and the share grows with the load, at every load, whatever the arrivals
SELECT b AS burstiness,
       bool_and(x.wait_share <= y.wait_share) AS grows_with_the_load
  FROM (VALUES (0), (0.5), (1), (3)) v(b), generate_series(1, 180) g,
       pgpool_stats_predict_wait(g, 10, 2, b) x,
       pgpool_stats_predict_wait(g + 1, 10, 2, b) y
 GROUP BY b ORDER BY b;

-- Bad input: clear errors
SELECT * FROM pgpool_stats_predict_wait(0, 40, 3);
SELECT * FROM pgpool_stats_predict_wait('NaN', 40, 3);
SELECT * FROM pgpool_stats_predict_wait(50, 0, 3);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 0);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, -1);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, 21);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, 1, -1);
SELECT * FROM pgpool_stats_predict_wait(50, 40, 3, 1, 101);
SELECT * FROM pgpool_stats_what_if(NULL, 3);
SELECT * FROM pgpool_stats_what_if('app', 0);
SELECT * FROM pgpool_stats_what_if('app', pool_size_max => 5);
SELECT * FROM pgpool_stats_what_if('app', 5, 4);
SELECT * FROM pgpool_stats_what_if('app', 1, 20000);
SELECT * FROM pgpool_stats_what_if('app', 3, wait_target_ms => -1);
SELECT * FROM pgpool_stats_what_if('app', 3, wait_target_ms => 'NaN');
SELECT * FROM pgpool_stats_what_if('app', 3, rate_factor => 0);
SELECT * FROM pgpool_stats_what_if('app', 3, rate_factor => 1001);
SELECT * FROM pgpool_stats_what_if('app', 3, span => '-1 s');
-- an application with no key: no row, whatever the span (0: the window)
SELECT count(*) FROM pgpool_stats_what_if('no such application');
SELECT count(*) FROM pgpool_stats_what_if('no such application', span => '0');
SELECT count(*) FROM pgpool_stats_what_if('no such application', span => '1 day');
