# Helpers of the benchmark parts (test/bench/*.sh), sourced by test/bench.sh
# after test/lib.sh: the options, parsed once, the scratch cluster and the
# client environment, and the statistics every part prints.

# Options and the knobs they set; BENCH_* variables override the full run.
#   --quick        one short round of everything: checks the script works
#   --only A,B     only these parts (default: all, in the order of bench_parts)
bench_parts=(overhead sampling accuracy memory scaling readers scrape instructions)
bench_parse_options()
{
	local quick=0 only=""
	while [ $# -gt 0 ]; do
		case $1 in
			--quick) quick=1 ;;
			--only) only=${2:?--only needs a list of parts}; shift ;;
			--only=*) only=${1#--only=} ;;
			*) pgps_log "unknown option $1 (--quick, --only PART,...: ${bench_parts[*]})"; exit 2 ;;
		esac
		shift
	done
	if [ -n "$only" ]; then
		local p known
		for p in ${only//,/ }; do
			known=0
			for k in "${bench_parts[@]}"; do [ "$p" = "$k" ] && known=1; done
			[ $known = 1 ] || { pgps_log "no part $p (parts: ${bench_parts[*]})"; exit 2; }
		done
		read -r -a bench_parts <<<"${only//,/ }"
	fi
	bench_quick=$quick
	port=${BENCH_PORT:-54339}
	reader_clients=16 evict_logins=20
	if [ $quick = 1 ]; then
		pairs=1 seconds=1 fault_conns=50
		levels=(10) window=1 cpu_seconds=1
		accuracy_seconds=3
		bucket_s=2 key_levels=(10 100) evict_conns=100 evict_pairs=1
		reader_keys=(1000 20000) login_count=20 login_pairs=2 mem_runs=1
		n1=100 n2=300 nconn=10
	else
		pairs=${BENCH_PAIRS:-7} seconds=${BENCH_SECONDS:-5}
		fault_conns=${BENCH_FAULT_CONNECTIONS:-1000}
		levels=(10 100 500) window=${BENCH_SAMPLE_SECONDS:-5}
		cpu_seconds=${BENCH_CPU_SECONDS:-20}
		accuracy_seconds=${BENCH_ACCURACY_SECONDS:-20}
		bucket_s=10 key_levels=(10 1000 10000) evict_conns=200 evict_pairs=10
		reader_keys=(10000 1000000) login_count=${BENCH_LOGINS:-200} login_pairs=4 mem_runs=3
		n1=500 n2=2500 nconn=100
	fi
}

# valgrind counts the instructions: installed up front when that part runs;
# without it the part says so and the others run
bench_install_tools()
{
	case " ${bench_parts[*]} " in *" instructions "*) ;; *) return 0 ;; esac
	command -v valgrind >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || return 0
	pgps_log "installing valgrind"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; } \
		>/dev/null 2>&1 || pgps_log "valgrind could not be installed"
}

# The scratch cluster, with pgbench's tables; every client reaches it
# through pgc (as the cluster owner, with the connection settings)
bench_setup()
{
	dir=$(pgps_workdir)
	trap 'stop_idle; pgps_cleanup "$dir"' EXIT
	pgps_cluster_start "$dir" "$port" "shared_preload_libraries = 'pgpool_stats'
max_connections = 600"
	bin=$("$PG_CONFIG" --bindir)
	pg_env=(env PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres)
	pgc psql -Xq -c 'CREATE EXTENSION pgpool_stats'
	pgc pgbench -i -q -s 5 >/dev/null 2>&1
}

# The bench-only fill module (test/bench/fill), built in the scratch
# directory (nothing lands in the source tree) and made a function of the
# postgres database
bench_fill_setup()
{
	pgps_as_pg mkdir -p "$dir/fill"
	pgps_as_pg cp "$PGPS_ROOT/test/bench/fill/Makefile" "$PGPS_ROOT/test/bench/fill/pgps_bench_fill.c" "$dir/fill/"
	# no bitcode: the module is loaded by path, never installed
	pgps_as_pg make -C "$dir/fill" -s PG_CONFIG="$PG_CONFIG" PGPS_ROOT="$PGPS_ROOT" with_llvm=no >/dev/null
	q "CREATE OR REPLACE FUNCTION pgps_bench_fill(int, text) RETURNS bigint
		AS '$dir/fill/pgps_bench_fill.so', 'pgps_bench_fill' LANGUAGE C STRICT" >/dev/null
}

# Fill the table to $1 keys in all (those there already count), named $2{i}
fill_to() { q "SELECT pgps_bench_fill(($1 - entries)::int, '$2') FROM pgpool_stats_info" >/dev/null; }

# A client command against the scratch cluster
pgc() { pgps_as_pg "${pg_env[@]}" "$@"; }
q() { pgc psql -XAtc "$1"; }

# the idle clients sleep in \sleep and would outlive the server
stop_idle() { [ -n "${dir:-}" ] && pkill -f "$dir/idle" 2>/dev/null || true; }

# Restart the cluster with the library (with) or without it (without), and
# any further server options
restart()
{
	local preload=
	[ "$1" = with ] && preload=pgpool_stats
	pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c shared_preload_libraries=$preload -c autovacuum=off ${2:-}" restart >/dev/null
}

# Restart with the library and the given server options
restart_with() { restart with "${1:-}"; }

# Stop the cluster if it runs
bench_stop()
{
	pgps_as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || return 0
	pgps_cluster_stop "$dir"
}

# tps of one pgbench run (for -C runs, connections per second)
tps()
{
	pgc pgbench -n "$@" -T "$seconds" 2>/dev/null \
		| awk '/^tps = / { print $3; exit }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# the smallest and the largest of the values on stdin, joined by $1
minmax() { sort -g | sed -n '1p;$p' | paste -sd "$1"; }

# Set the sample interval and wait until the worker uses it
set_interval()
{
	q "ALTER SYSTEM SET pgpool_stats.sample_interval = '$1'" >/dev/null
	q "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 100); do
		[ "$(q 'SELECT sample_interval_ms FROM pgpool_stats_info')" = "${1%ms}" ] && return
		sleep 0.1
	done
}

# psql connections numbered $1 to $2, each running SELECT 1 with the
# application_name $3 ({} is the connection's number), $4 (or 4) at a time
psql_connections()
{
	seq "$1" "$2" | pgc xargs -P "${4:-4}" -I{} psql -XAtq \
		-d "dbname=postgres application_name=$3" -c 'SELECT 1' >/dev/null
}
