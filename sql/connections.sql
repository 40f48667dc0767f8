-- pgpool_stats_connections: the contract's columns, this session's own row,
-- reset, and who sees what.
SELECT attname, atttypid::regtype
  FROM pg_attribute
 WHERE attrelid = 'pgpool_stats_connections'::regclass AND attnum > 0
 ORDER BY attnum;

-- pg_regress names each test's session: this key is this session only.
SELECT datname = current_database() AS this_db,
       usename = current_user AS this_role,
       client_addr IS NULL AS unix_socket,
       connections, disconnections, open_connections, auth_failures,
       login_failures,
       session_avg_ms IS NULL AS no_ended_session,
       setup_avg_ms > 0 AS setup_measured,
       first_seen <= last_connect AS ordered,
       stats_reset <= first_seen AS after_reset
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');

-- A reset forgets everything but the open connections of live sessions.
SELECT pgpool_stats_reset();
SELECT connections, disconnections, open_connections,
       stats_reset > now() - interval '1 hour' AS reset_recorded
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');
SELECT entries, evicted, dropped FROM pgpool_stats_info;

-- What this session does is counted exactly: its transactions (commits,
-- rollbacks) and the statements it runs at the top level, never those a
-- function or a DO block runs inside one.  Since the reset: its own
-- transaction (which ended after it) and the two queries above, 2
-- statements and 3 transactions.
BEGIN;
SELECT 1 AS one;
SELECT 2 AS two;
COMMIT;
SELECT 1 / 0;
DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
CREATE FUNCTION pgps_regress_inner() RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN PERFORM 1; RETURN 1; END $$;
SELECT pgps_regress_inner();
-- 10 statements (1 / 0 failed in planning, before it ran: not one; this
-- one is, as it starts) and 8 transactions (1 / 0 rolled back) ended: a
-- sample adds them while the session lives.  No connection opened since
-- the reset: all of them reused one.
SELECT pgpool_stats_sample() >= 1 AS sampled;
SELECT transactions, statements, transactions_per_connection,
       reuse_share, sessions_abandoned, sessions_fatal, sessions_killed
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');
DROP FUNCTION pgps_regress_inner();

-- Errors do not stop the count, nor make a function's statements a
-- client's: an error caught by an EXCEPTION block, one that reaches the
-- client, one undone by ROLLBACK TO SAVEPOINT, a procedure that commits and
-- rolls back inside its CALL.
SELECT pgpool_stats_reset();
CREATE FUNCTION pgps_regress_fails(catch boolean) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    IF catch THEN
        BEGIN
            PERFORM 1 / 0;
        EXCEPTION WHEN division_by_zero THEN
            PERFORM 2;
        END;
        PERFORM 3;
        RETURN 1;
    END IF;
    PERFORM 1 / 0;
    RETURN 0;
END $$;
SELECT pgps_regress_fails(true);
SELECT pgps_regress_fails(false);
BEGIN;
SAVEPOINT before_error;
SELECT pgps_regress_fails(false);
ROLLBACK TO SAVEPOINT before_error;
SELECT pgps_regress_fails(true);
COMMIT;
CREATE PROCEDURE pgps_regress_proc() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1;
    COMMIT;
    PERFORM 2;
    ROLLBACK;
    PERFORM 3;
END $$;
CALL pgps_regress_proc();
-- 12 statements: CREATE, 2 SELECTs, BEGIN, SAVEPOINT, SELECT, ROLLBACK TO,
-- SELECT, COMMIT, CREATE, CALL and this one; 9 transactions: the reset's,
-- CREATE, 2 SELECTs (one rolled back), the block, CREATE, and the CALL's 3
-- (its COMMIT, its ROLLBACK and its end), as pg_stat_database counts them
SELECT pgpool_stats_sample() >= 1 AS sampled;
SELECT transactions, statements
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');

-- Statements a function runs while its caller is planned (an error caught
-- there included), or that a deferred foreign key runs at COMMIT, are no
-- client's, and the count goes on right after them.
CREATE TABLE pgps_regress_parent (id int PRIMARY KEY);
CREATE TABLE pgps_regress_child (id int REFERENCES pgps_regress_parent DEFERRABLE INITIALLY DEFERRED);
CREATE FUNCTION pgps_regress_safe_int(t text) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
    RETURN t::int;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;
SELECT pgpool_stats_reset();
SELECT pgps_regress_safe_int('x') AS folded_while_planning;
SELECT pgps_regress_fails(true);
INSERT INTO pgps_regress_parent VALUES (1);
BEGIN;
INSERT INTO pgps_regress_child SELECT 1 FROM generate_series(1, 5);
COMMIT;
-- 7 statements (this one included) and 5 transactions (the reset's, the
-- two SELECTs, the INSERT and the block; the 5 checks at its COMMIT are
-- none)
SELECT pgpool_stats_sample() >= 1 AS sampled;
SELECT transactions, statements
  FROM pgpool_stats_connections
 WHERE application_name = current_setting('application_name');
DROP TABLE pgps_regress_child, pgps_regress_parent;
DROP FUNCTION pgps_regress_safe_int(text);
DROP PROCEDURE pgps_regress_proc();
DROP FUNCTION pgps_regress_fails(boolean);

-- A configured pool's check takes counts a pool can have, and the report a
-- format it knows.
SELECT * FROM pgpool_stats_pool_check('nobody', 0);
SELECT * FROM pgpool_stats_pool_check('nobody', 5, -1);
SELECT * FROM pgpool_stats_pool_check('nobody', 262143, 1);
SELECT * FROM pgpool_stats_pool_check('nobody', NULL);
SELECT * FROM pgpool_stats_pool_check(NULL, 5);
SELECT count(*) AS rows FROM pgpool_stats_pool_check('nobody', 5);
SELECT count(*) AS rows FROM pgpool_stats_pool_check('nobody', 5, NULL);
SELECT pgpool_stats_report('html');
SELECT pgpool_stats_report(NULL);
SELECT pgpool_stats_report('Markdown') LIKE '# pgpool_stats report%' AS markdown;
SELECT pgpool_stats_report() LIKE '%application ' || current_setting('application_name') || ' (database%' AS names_this_session;
-- the sparkline of any series: a character a value, NULL as 0
SELECT length(pgpool_stats_sparkline(ARRAY[0, 1, NULL, 7])) AS chars,
       pgpool_stats_sparkline('{}') = '' AS empty;
SELECT pgpool_stats_sparkline('{{1,2},{3,4}}');

-- Only superusers (and whoever is granted it) may reset.
CREATE ROLE pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT pgpool_stats_reset();

-- Other roles' rows are shown as pg_stat_activity shows their sessions:
-- what names them (database, role, application_name), not where they come
-- from or what they do (client_addr and every figure NULL).
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND usename IS NOT NULL) AS named,
       bool_and(client_addr IS NULL AND connections IS NULL AND auth_failures IS NULL
                AND open_connections IS NULL AND first_seen IS NULL
                AND last_connect IS NULL) AS figures_hidden,
       bool_and(stats_reset IS NOT NULL) AS stats_reset_shown
  FROM pgpool_stats_connections;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND client_addr IS NULL AND total IS NULL
                AND samples IS NULL AND active_trend IS NULL) AS figures_hidden
  FROM pgpool_stats_activity;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND open_connections IS NULL
                AND verdict IS NULL AND reason IS NULL) AS figures_hidden
  FROM pgpool_stats_recommendations;
-- the report reads the views as its caller: others' applications are
-- counted, not named, and their figures are hidden; a pool's check shows
-- their names, as the views do, but no figure
SELECT pgpool_stats_report() ~ '\d+ applications? of other roles: their figures are hidden' AS report_hides,
       pgpool_stats_report() NOT LIKE '%transactions per connection%' AS no_figures,
       pgpool_stats_report() NOT LIKE '%' || current_setting('application_name') || '%' AS not_named,
       pgpool_stats_report('markdown') ~ '\d+ applications? of other roles: their figures are hidden' AS markdown_hides;
SELECT count(*) >= 1 AS rows, bool_and(samples IS NULL AND verdict IS NULL AND client_addr IS NULL) AS figures_hidden
  FROM pgpool_stats_pool_check(current_setting('application_name'), 5);
RESET ROLE;

-- Members of a role see its rows, as in pg_stat_activity.
CREATE ROLE pgps_regress_member;
SELECT current_user AS me \gset
GRANT :"me" TO pgps_regress_member;
SET ROLE pgps_regress_member;
SELECT count(*) FILTER (WHERE usename = :'me') AS own_rows,
       count(*) FILTER (WHERE usename = :'me' AND connections IS NOT NULL) AS shown
  FROM pgpool_stats_connections;
RESET ROLE;
DROP ROLE pgps_regress_member;

-- Members of pg_read_all_stats see them.
GRANT pg_read_all_stats TO pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT count(*) AS rows,
       bool_and(application_name IS NOT NULL AND connections IS NOT NULL) AS shown
  FROM pgpool_stats_connections;
RESET ROLE;

-- Granting reset works like any function grant.
GRANT EXECUTE ON FUNCTION pgpool_stats_reset() TO pgps_regress_user;
SET ROLE pgps_regress_user;
SELECT pgpool_stats_reset();
RESET ROLE;
DROP OWNED BY pgps_regress_user;
DROP ROLE pgps_regress_user;
