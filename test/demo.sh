#!/usr/bin/env bash
# The main job of pgpool_stats, for a newcomer: a scratch cluster with the
# extension, a real workload from five applications, then the views.
#   orders-api      pgbench through a pool: 4 connections kept open
#   report-worker   pgbench -C: a new connection for every query
#   admin-ui        a pool of 12 connections that are almost always idle
#   billing-job     a session that leaves its transaction open
#   checkout        8 pgbench clients through PgBouncer in transaction
#                   mode, which shares 3 server connections among them
# The history is kept in 2-second buckets and the worker samples every 10 ms
# here, so that a short demo has history and enough samples for verdicts.
# Set DEMO_SECONDS (default 10) and DEMO_PORT (default 54329) to change them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

seconds=${DEMO_SECONDS:-10}
port=${DEMO_PORT:-54329}

pgps_install_deps
pgps_build_install

dir=$(pgps_workdir)
stop_pgbouncer() { [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; }
trap 'stop_pgbouncer; pgps_cleanup "$dir"' EXIT
pgps_log "starting a scratch cluster on port $port with pgpool_stats preloaded"
pgps_cluster_start "$dir" "$port" "shared_preload_libraries = 'pgpool_stats'
pgpool_stats.history_interval = '2s'
pgpool_stats.sample_interval = '10ms'"

export PGHOST=$dir PGPORT=$port PGUSER=postgres PGDATABASE=postgres
psql_() { pgps_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGDATABASE="$PGDATABASE" psql -X "$@"; }
pgbench_() { pgps_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" PGAPPNAME="$1" pgbench "${@:2}" postgres; }

psql_ -q -c 'CREATE EXTENSION pgpool_stats'
pgbench_ setup -i -q -s 5 >/dev/null 2>&1

pgps_as_pg tee "$dir/admin.sql" >/dev/null <<'SQL'
\sleep 2 s
SELECT count(*) FROM pgbench_branches;
SQL

# PgBouncer on the next port, in front of the server's Unix socket
bport=$((port + 1))
echo '"postgres" ""' | pgps_as_pg tee "$dir/userlist.txt" >/dev/null
pgps_as_pg tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
postgres = host=$dir port=$port dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 3
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
pgps_as_pg /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini"

pgps_log "running five applications for $seconds s"
pgbench_ admin-ui -n -c 12 -j 1 -T "$((seconds + 1))" -f "$dir/admin.sql" >/dev/null 2>&1 &
admin=$!
(sleep "$((seconds + 1))") | pgps_as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$PGUSER" \
	PGAPPNAME=billing-job psql -Xq -d postgres -c 'BEGIN' -c 'SELECT 1' -f - >/dev/null &
billing=$!
pgbench_ orders-api -n -S -c 4 -j 1 -T "$seconds" >"$dir/pooled.out" 2>&1 &
pooled=$!
pgps_as_pg env PGHOST=127.0.0.1 PGPORT="$bport" PGUSER="$PGUSER" PGAPPNAME=checkout \
	pgbench -n -S -c 8 -j 1 -T "$seconds" postgres >"$dir/bounced.out" 2>&1 &
bounced=$!
pgbench_ report-worker -n -C -S -c 2 -j 1 -T "$seconds" >"$dir/churny.out" 2>&1

echo
echo "pgpool_stats_activity while admin-ui and billing-job are still connected"
psql_ -c "
SELECT application_name, total, active, idle, idle_in_transaction AS idle_in_xact,
       total_max, active_max, round(active_avg::numeric, 2) AS active_avg,
       active_p95, active_p99, round(idle_in_transaction_max_s::numeric, 1) AS iit_max_s,
       samples, active_trend, total_trend
  FROM pgpool_stats_activity
 WHERE application_name NOT IN ('psql', 'setup')
 ORDER BY total_max DESC"
wait $pooled $admin $billing $bounced
stop_pgbouncer
for app in orders-api report-worker checkout; do
	f=$dir/pooled.out; [ $app = report-worker ] && f=$dir/churny.out; [ $app = checkout ] && f=$dir/bounced.out
	printf '%-14s pgbench says: %s, %s\n' "$app" \
		"$(grep -o 'number of transactions actually processed: [0-9]*' "$f" | grep -o '[0-9]*$') transactions" \
		"$(grep -o 'tps = [0-9.]*' "$f")"
done

# Backends exit a moment after their clients: wait until they have (poll).
for _ in $(seq 100); do
	[ "$(psql_ -Atc "SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections WHERE application_name NOT IN ('psql', 'setup')")" = 0 ] && break
	sleep 0.1
done

echo
echo "pgpool_stats_connections: connection churn per application"
psql_ -c "
SELECT application_name, client_addr, connections, disconnections AS closed,
       open_connections AS open, round(connects_per_sec::numeric, 1) AS conn_per_s,
       round(session_p50_ms::numeric, 1) AS p50_ms, round(session_p95_ms::numeric, 1) AS p95_ms,
       short_sessions AS short, round(setup_avg_ms::numeric, 1) AS setup_ms
  FROM pgpool_stats_connections
 ORDER BY connections DESC"

echo "pgpool_stats_connections: reuse, and how sessions ended"
psql_ -c "
SELECT application_name, connections, transactions, statements,
       round(transactions_per_connection::numeric, 1) AS xact_per_conn,
       round(reuse_share::numeric, 3) AS reuse, sessions_abandoned AS abandoned,
       sessions_fatal AS fatal, sessions_killed AS killed
  FROM pgpool_stats_connections
 ORDER BY connections DESC"

echo "pgpool_stats_history: the last three 2-second buckets"
psql_ -c "
SELECT to_char(bucket_start, 'HH24:MI:SS') AS bucket, application_name, samples,
       round(total_avg::numeric, 1) AS total_avg, total_max,
       round(active_avg::numeric, 1) AS active_avg, active_max,
       idle_in_transaction_max AS iit_max, connections, disconnections
  FROM pgpool_stats_history
 WHERE bucket_start >= (SELECT max(bucket_start) FROM pgpool_stats_history) - interval '4 s'
   AND application_name NOT IN ('psql', 'setup')
 ORDER BY bucket_start, application_name"

echo "pgpool_stats_info: the extension itself"
psql_ -x -c "SELECT * FROM pgpool_stats_info"
echo "pgpool_stats_memory: its shared memory by part"
psql_ -c "SELECT * FROM pgpool_stats_memory"

echo "pgpool_stats_recommendations: a verdict and a pool size per application"
psql_ -c "
SELECT application_name, clients, active_max, busy_p95, busy_p99, busy_burst,
       recommended_pool_size AS pool, recommended_min_idle AS min_idle, verdict,
       pooler, behind_pooler
  FROM pgpool_stats_recommendations
 WHERE application_name NOT IN ('psql', 'setup')
 ORDER BY application_name"
psql_ -Atc "
SELECT application_name || ': ' || reason
  FROM pgpool_stats_recommendations
 WHERE application_name NOT IN ('psql', 'setup')
 ORDER BY application_name"
echo
psql_ -x -c "SELECT * FROM pgpool_stats_server"

echo "Cross-check: pg_stat_database.sessions counts the same sessions"
psql_ -c "
SELECT (SELECT sum(connections) FROM pgpool_stats_connections WHERE datname = 'postgres') AS pgpool_stats,
       (SELECT sessions FROM pg_stat_database WHERE datname = 'postgres') AS pg_stat_database"

echo "pgpool_stats_pool_check: is orders-api's pool of 4 right, or would 20 + 10 be?"
psql_ -c "
SELECT p.pool, c.client_addr, c.open_max AS open, round(c.busy_p95_pct) AS busy_p95_pct,
       round(c.busy_max_pct) AS busy_max_pct, round(c.busy_above_85_share::numeric, 2) AS above_85,
       c.overflow_reached AS overflow, c.verdict, c.recommended_pool_size AS try
  FROM (VALUES (4, 0), (20, 10)) p(pool, overflow),
       pgpool_stats_pool_check('orders-api', p.pool, p.overflow) c"

echo "pgpool_stats_report(): the whole picture in one call ('markdown' for a ticket)"
psql_ -Atc "SELECT pgpool_stats_report()"

pgps_cluster_stop "$dir"
