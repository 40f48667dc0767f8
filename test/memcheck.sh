#!/bin/bash
# Run a scratch cluster under valgrind memcheck (every server process: the
# postmaster, the worker, each backend) through the extension's paths: the
# views and functions (the pg_regress scripts), connect-per-query churn,
# failed logins, hostile names, eviction in a full table, a clean restart
# (the statistics file written and read back), a reset.  Fails if any error
# valgrind reports has a frame in pgpool_stats.  The server's own reports
# (it writes uninitialised padding to WAL and files, by design) are listed
# by count only.  Slow: a few minutes.
#
#   bash test/memcheck.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

pgps_install_deps
command -v valgrind >/dev/null 2>&1 || {
	pgps_log "installing valgrind"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
}
pgps_build_install

bin=$("$PG_CONFIG" --bindir)
work=$(pgps_workdir)
trap 'pgps_cleanup "$work"' EXIT
port=54390
mkdir "$work/vg"
chown postgres: "$work/vg" 2>/dev/null || true

pgps_as_pg "$bin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
pgps_as_pg tee -a "$work/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$work'
shared_preload_libraries = 'pgpool_stats'
pgpool_stats.max_entries = 10
pgpool_stats.sample_interval = 50
pgpool_stats.history_interval = 1
pgpool_stats.leak_threshold = 1
CONF
pgps_as_pg tee "$work/data/pg_hba.conf" >/dev/null <<HBA
local all pwuser scram-sha-256
local all all trust
host all all 127.0.0.1/32 trust
HBA

start_under_valgrind()
{
	pgps_as_pg bash -c "valgrind --quiet --trace-children=yes --error-limit=no \
		--num-callers=40 --log-file='$work/vg/%p.log' \
		'$bin/postgres' -D '$work/data' >>'$work/server.log' 2>&1 &"
	for _ in $(seq 120); do
		pgps_as_pg "$bin/pg_isready" -q -h "$work" -p "$port" && return 0
		sleep 1
	done
	pgps_log "the server did not start under valgrind"
	cat "$work/server.log" >&2
	return 1
}

sql() { pgps_as_pg "$bin/psql" -X -q -h "$work" -p "$port" -d postgres "$@"; }

start_under_valgrind
sql -c 'CREATE EXTENSION pgpool_stats' \
	-c "CREATE ROLE pwuser LOGIN PASSWORD 'right'"
pgps_log "the pg_regress scripts (their output is not checked here)"
for f in "$PGPS_ROOT"/sql/*.sql; do
	sql -f "$f" >/dev/null 2>&1 || true
done
pgps_log "churn, failed logins, hostile names, eviction"
pgps_as_pg "$bin/pgbench" -h "$work" -p "$port" -i -q postgres >/dev/null 2>&1
PGAPPNAME=churn pgps_as_pg "$bin/pgbench" -h "$work" -p "$port" -C -S -c 2 -t 10 postgres >/dev/null 2>&1
PGAPPNAME=tcp pgps_as_pg "$bin/pgbench" -h 127.0.0.1 -p "$port" -C -S -c 1 -t 5 postgres >/dev/null 2>&1
PGPASSWORD=wrong pgps_as_pg "$bin/psql" -X -h "$work" -p "$port" -U pwuser -d postgres -c 'SELECT 1' >/dev/null 2>&1 || true
pgps_as_pg "$bin/psql" -X -h "$work" -p "$port" -d no_such_database -c 'SELECT 1' >/dev/null 2>&1 || true
for name in $'ctl\x01\x7f' $'bytes\xff\xfe' 'été' "$(printf 'x%.0s' {1..100})" $(seq -f 'name_%g' 1 15); do
	PGAPPNAME=$name pgps_as_pg "$bin/psql" -X -h "$work" -p "$port" -d postgres -c 'SELECT 1' >/dev/null 2>&1
done
evicted=$(sql -At -c 'SELECT evicted FROM pgpool_stats_info')
[ "$evicted" -gt 0 ] || { pgps_log "no key was evicted: the table never filled"; exit 1; }
sql -c 'SELECT pgpool_stats_sample()' \
	-c 'SELECT * FROM pgpool_stats_connections' -c 'SELECT * FROM pgpool_stats_activity' \
	-c 'SELECT * FROM pgpool_stats_history' -c 'SELECT * FROM pgpool_stats_recommendations' \
	-c 'SELECT * FROM pgpool_stats_server' -c 'SELECT * FROM pgpool_stats_info' >/dev/null
pgps_log "a clean restart: the statistics file written and read back"
pgps_as_pg "$bin/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null
start_under_valgrind
sql -c 'SELECT * FROM pgpool_stats_connections' -c 'SELECT * FROM pgpool_stats_history' \
	-c 'SELECT pgpool_stats_reset()' -c 'SELECT * FROM pgpool_stats_info' >/dev/null
pgps_as_pg "$bin/pg_ctl" -D "$work/data" -m fast -w -t 300 stop >/dev/null

processes=$(find "$work/vg" -name '*.log' | wc -l)
ours=$(grep -l 'pgpool_stats' "$work"/vg/*.log || true)
server=$(cat "$work"/vg/*.log | grep -c '^==[0-9]*== [A-Z]' || true)
if [ -n "$ours" ]; then
	for f in $ours; do
		pgps_log "valgrind reports in $f"
		cat "$f" >&2
	done
	echo "memcheck: FAILED: errors in pgpool_stats ($processes processes)"
	exit 1
fi
echo "memcheck: no error in pgpool_stats over $processes server processes ($server reports of the server's own, none through the extension)"
