-- The extension installs, with its views and functions.
CREATE EXTENSION pgpool_stats;
SELECT pg_describe_object(classid, objid, 0) AS object
  FROM pg_depend
 WHERE classid IN ('pg_proc'::regclass, 'pg_class'::regclass)
   AND refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pgpool_stats')
 ORDER BY 1;
