-- pgpool_stats_activity and pgpool_stats_history: the contract's columns,
-- and this session as the sampler sees it.
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_activity'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_history'::regclass AND attnum > 0
 ORDER BY attnum;

-- Within one statement this session is active in every sample, whoever
-- takes it (the worker samples on its own too).
SELECT x.seen >= 1 AS saw_sessions,
       s.total, s.active, s.idle, s.idle_in_transaction, s.waiting,
       s.total_max >= 1 AS peak, s.samples >= 1 AS sampled,
       s.last_sample IS NOT NULL AS has_last_sample
  FROM (SELECT pgpool_stats_sample() AS seen) x,
       pgpool_stats_activity s
 WHERE s.application_name = current_setting('application_name');

-- Only superusers (and whoever is granted it) may sample on demand.
CREATE ROLE pgps_regress_sampler;
SET ROLE pgps_regress_sampler;
SELECT pgpool_stats_sample();
RESET ROLE;
DROP ROLE pgps_regress_sampler;

-- A session that carries another application's name, as a pooler's server
-- connections carry their clients', counts its busy states for that
-- application too: this one is running the sample under the name it set.
SET application_name = 'lent-to';
SELECT pgpool_stats_sample() >= 1 AS sampled;
RESET application_name;
SELECT application_name, total, active, idle, samples >= 1 AS sampled
  FROM pgpool_stats_activity WHERE application_name = 'lent-to';
SELECT application_name = current_setting('application_name') AS own_key, pooler, behind_pooler,
       open_connections
  FROM pgpool_stats_recommendations
 WHERE application_name IN ('lent-to', current_setting('application_name'))
 ORDER BY 1;
-- its connection stays its own key's
SELECT connections FROM pgpool_stats_connections WHERE application_name = 'lent-to';
