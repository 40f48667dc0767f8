#!/usr/bin/env bash
# Benchmarks of pgpool_stats, measured side by side in one run: the same
# scratch cluster restarted with and without the library preloaded, in
# interleaved pairs (with, without, with, without, ...), medians and ratios.
#   bash test/bench.sh           full run (BENCH_PAIRS=7 pairs of BENCH_SECONDS=5 s)
#   bash test/bench.sh --quick   one short pair: checks that the script works
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pairs=${BENCH_PAIRS:-7}
seconds=${BENCH_SECONDS:-5}
port=${BENCH_PORT:-54339}
if [ "${1:-}" = "--quick" ]; then
	pairs=1
	seconds=1
fi

pgps_install_deps
pgps_build_install

dir=$(pgps_workdir)
# the idle clients sleep in \sleep and would outlive the server
stop_idle() { pkill -f "$dir/idle.sql" 2>/dev/null || true; }
trap 'stop_idle; pgps_cleanup "$dir"' EXIT
pgps_cluster_start "$dir" "$port" "shared_preload_libraries = 'pgpool_stats'
max_connections = 600"
bin=$("$PG_CONFIG" --bindir)
pg_env=(env PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres)
pgps_as_pg "${pg_env[@]}" psql -Xq -c 'CREATE EXTENSION pgpool_stats'
pgps_as_pg "${pg_env[@]}" pgbench -i -q -s 5 >/dev/null 2>&1

# Restart the cluster with or without the library.
restart()
{
	local preload=
	[ "$1" = with ] && preload=pgpool_stats
	pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
		-o "-c shared_preload_libraries=$preload -c autovacuum=off" restart >/dev/null
}

# tps of one pgbench run (for -C runs, connections per second)
tps()
{
	pgps_as_pg "${pg_env[@]}" pgbench -n "$@" -T "$seconds" 2>/dev/null \
		| awk '/^tps = / { print $3; exit }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# the smallest and the largest of the values on stdin, joined by $1
minmax() { sort -g | sed -n '1p;$p' | paste -sd "$1"; }

# The connection path in the kernel's accounts: the backends' minor page
# faults and CPU time (utime + stime) per connection, from the postmaster's
# cminflt, cutime and cstime in /proc (what it reaped from its children),
# over one pgbench -C client making $fault_conns + 1 connections, between two
# moments when the postmaster has no child but its own auxiliary processes
# (autovacuum is off in these runs).  Exact counts, where connections/s are
# noisy.  Sets kernel_faults and kernel_cpu_ms.
fault_conns=${BENCH_FAULT_CONNECTIONS:-1000}
[ "${1:-}" = "--quick" ] && fault_conns=50
# children that are not auxiliary processes (of PostgreSQL 14 to 18):
# backends, and any not reaped yet
transient_children()
{
	local n=0 c
	for c in $(pgrep -P "$1" || true); do
		# a child reaped meanwhile has no cmdline any more: still counted
		# once, gone at the next look
		case "$(tr '\0' ' ' 2>/dev/null <"/proc/$c/cmdline" || true)" in
			*checkpointer* | *"background writer"* | *walwriter* | *"autovacuum launcher"* | \
				*"logical replication launcher"* | *"pgpool_stats collector"* | \
				*"stats collector"* | *archiver* | *"io worker"* | *walsummarizer*) ;;
			*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}
wait_no_backend()
{
	for _ in $(seq 400); do
		[ "$(transient_children "$1")" -eq 0 ] && return 0
		sleep 0.05
	done
	pgps_log "backends of the postmaster still running after 20 s"
	exit 1
}
kernel_per_connection()
{
	local pm a b
	pm=$(head -1 "$dir/data/postmaster.pid")
	wait_no_backend "$pm"
	a=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
	if ! pgps_as_pg "${pg_env[@]}" pgbench -n -C -S -c 1 -t "$fault_conns" >/dev/null 2>"$dir/kernel.err"; then
		cat "$dir/kernel.err" >&2
		pgps_log "pgbench failed"
		exit 1
	fi
	wait_no_backend "$pm"
	b=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
	read -r kernel_faults kernel_cpu_ms < <(awk -v a="$a" -v b="$b" -v n=$((fault_conns + 1)) \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.2f %.4f\n", (y[1] - x[1]) / n, 1000 * (y[2] - x[2]) / hz / n }')
}

declare -A runs
tests=(conn pooled)
declare -A args=([conn]="-C -S -c 2 -j 2" [pooled]="-S -c 4 -j 2")
declare -A title=(
	[conn]="connection path: pgbench -C -S -c 2, connections/s"
	[pooled]="pooled throughput: pgbench -S -c 4, tps")

for ((p = 1; p <= pairs; p++)); do
	for mode in with without; do
		restart $mode
		for t in "${tests[@]}"; do
			# shellcheck disable=SC2086
			runs[$t,$mode]+="$(tps ${args[$t]}) "
		done
		kernel_per_connection
		runs[faults,$mode]+="$kernel_faults "
		runs[cpu,$mode]+="$kernel_cpu_ms "
	done
	printf 'pair %d/%d done\n' "$p" "$pairs" >&2
done
restart with

echo
echo "pgpool_stats benchmark: $(nproc) cores, $(pgps_as_pg "$bin/postgres" --version), $pairs interleaved pairs of ${seconds} s"
printf '%-56s %12s %12s %8s %18s\n' measurement with without ratio "pair ratios min-max"
for t in "${tests[@]}"; do
	read -r -a w <<<"${runs[$t,with]}"
	read -r -a wo <<<"${runs[$t,without]}"
	ratios=$(for i in "${!w[@]}"; do awk -v a="${w[$i]}" -v b="${wo[$i]}" 'BEGIN { printf "%.4f\n", a / b }'; done)
	mw=$(printf '%s\n' "${w[@]}" | median)
	mwo=$(printf '%s\n' "${wo[@]}" | median)
	printf '%-56s %12.1f %12.1f %8.3f %18s\n' "${title[$t]}" "$mw" "$mwo" \
		"$(printf '%s\n' "$ratios" | median)" \
		"$(printf '%s\n' "$ratios" | minmax -)"
done
echo "(ratio: median of the per-pair ratios with/without; 1.000 means no measurable cost)"
echo "connection path in the kernel's accounts, per connection (pgbench -C -c 1, $((fault_conns + 1)) connections a run):"
for k in faults cpu; do
	read -r -a w <<<"${runs[$k,with]}"
	read -r -a wo <<<"${runs[$k,without]}"
	diffs=$(for i in "${!w[@]}"; do awk -v a="${w[$i]}" -v b="${wo[$i]}" 'BEGIN { printf "%.4f\n", a - b }'; done)
	printf '  %-26s with %9.3f, without %9.3f: %+.3f (median of the per-pair differences; min-max %s)\n' \
		"$([ $k = faults ] && echo 'minor page faults' || echo 'backend CPU ms')" \
		"$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${wo[@]}" | median)" \
		"$(printf '%s\n' "$diffs" | median)" \
		"$(printf '%s\n' "$diffs" | minmax ' ')"
done

# --- sampling cost --------------------------------------------------------
# N idle client connections (pgbench sleeping), then the server-side time of
# one of the worker's samples (timed inside the extension; the worker samples
# every 10 ms meanwhile, so that a few seconds hold hundreds of samples) next
# to the SQL poll monitoring loops run today, as pgbench latency minus the
# SELECT 1 round trip.  Last, the worker's CPU at the default interval.
pgps_as_pg tee "$dir/idle.sql" >/dev/null <<<'\sleep 600 s'
pgps_as_pg tee "$dir/poll.sql" >/dev/null <<<'SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2;'
pgps_as_pg tee "$dir/one.sql" >/dev/null <<<'SELECT 1;'
q() { pgps_as_pg "${pg_env[@]}" psql -XAtc "$1"; }
latency_us()
{
	pgps_as_pg "${pg_env[@]}" pgbench -n -t 200 -f "$1" 2>/dev/null \
		| awk '/^latency average/ { print $4 * 1000; exit }'
}
sample_total() { q "SELECT samples_taken || ' ' || sample_avg_us * samples_taken FROM pgpool_stats_info"; }
set_interval()
{
	q "ALTER SYSTEM SET pgpool_stats.sample_interval = '$1'" >/dev/null
	q "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 100); do
		[ "$(q 'SELECT sample_interval_ms FROM pgpool_stats_info')" = "${1%ms}" ] && return
		sleep 0.1
	done
}

levels=(10 100 500)
window=${BENCH_SAMPLE_SECONDS:-5}
cpu_seconds=${BENCH_CPU_SECONDS:-20}
if [ "${1:-}" = "--quick" ]; then levels=(10); window=1; cpu_seconds=1; fi

echo
printf '%-12s %12s %12s %12s %14s %12s\n' connections "sample us" "us/backend" "poll us" "poll-floor us" "poll/sample"
for n in "${levels[@]}"; do
	pgps_as_pg env PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGAPPNAME=idle_pool \
		pgbench -n -c "$n" -j 2 -T 600 -f "$dir/idle.sql" postgres >/dev/null 2>&1 &
	idle_pid=$!
	for _ in $(seq 600); do
		[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'idle_pool'")" -ge "$n" ] && break
		sleep 0.1
	done
	set_interval 10ms
	read -r c0 t0 <<<"$(sample_total)"
	sleep "$window"
	read -r c1 t1 <<<"$(sample_total)"
	sample_us=$(awk -v a="$t0" -v b="$t1" -v m="$c0" -v n="$c1" 'BEGIN { printf "%.2f", (b - a) / (n - m) }')
	poll=$(latency_us "$dir/poll.sql")
	floor=$(latency_us "$dir/one.sql")
	printf '%-12s %12s %12.4f %12.0f %14.0f %12.0f\n' "$n" "$sample_us" \
		"$(awk -v s="$sample_us" -v n="$n" 'BEGIN { print s / n }')" "$poll" \
		"$(awk -v p="$poll" -v f="$floor" 'BEGIN { print p - f }')" \
		"$(awk -v p="$poll" -v f="$floor" -v s="$sample_us" 'BEGIN { print (p - f) / s }')"
	if [ "$n" = "${levels[-1]}" ]; then
		# the worker's own CPU time at the default interval, from /proc
		set_interval 100ms
		wpid=$(q 'SELECT worker_pid FROM pgpool_stats_info')
		ticks() { awk '{ print $14 + $15 }' "/proc/$wpid/stat"; }
		k0=$(ticks); sleep "$cpu_seconds"; k1=$(ticks)
		worker_cpu=$(awk -v a="$k0" -v b="$k1" -v hz="$(getconf CLK_TCK)" -v s="$cpu_seconds" \
			'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }')
		worker_n=$n
	fi
	# runuser does not pass the signal on: stop the clients themselves
	stop_idle
	wait "$idle_pid" 2>/dev/null || true
done
echo "(sample us: server-side time of one of the worker's samples, timed inside the extension;"
echo " poll-floor: the pg_stat_activity poll minus a SELECT 1 round trip, both pgbench latency)"
echo "worker CPU at sample_interval 100 ms with $worker_n connections: $worker_cpu% of one core over ${cpu_seconds} s"
set_interval 100ms

# --- accuracy against a poller ---------------------------------------------
# Short sessions at a steady rate (pgbench -C -R 20), while a poller reads
# pg_stat_activity once a second the way load-test scripts do and remembers
# every pid it saw.  pgpool_stats must count every session (checked against
# pgbench's own count and pg_stat_database.sessions); the poller's share is
# the blind spot.
accuracy_seconds=${BENCH_ACCURACY_SECONDS:-20}
[ "${1:-}" = "--quick" ] && accuracy_seconds=3
sessions_db() { q "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'"; }
s0=$(sessions_db)
pgps_as_pg env PGHOST="$dir" PGPORT="$port" PGUSER=postgres PGAPPNAME=short_lived \
	pgbench -n -C -S -c 1 -R 20 -T "$accuracy_seconds" postgres >"$dir/accuracy.out" 2>&1 &
load=$!
: >"$dir/pids"
while kill -0 "$load" 2>/dev/null; do
	q "SELECT pid FROM pg_stat_activity WHERE application_name = 'short_lived'" >>"$dir/pids"
	sleep 1
done
wait "$load"
made=$(( $(awk '/actually processed/ { split($NF, a, "/"); print a[1] }' "$dir/accuracy.out") + 1 ))
for _ in $(seq 100); do
	[ "$(q "SELECT coalesce(sum(open_connections), 0) FROM pgpool_stats_connections WHERE application_name = 'short_lived'")" = 0 ] && break
	sleep 0.1
done
ours=$(q "SELECT connections FROM pgpool_stats_connections WHERE application_name = 'short_lived'")
polled=$(sort -u "$dir/pids" | grep -c . || true)
for _ in $(seq 50); do
	theirs=$(( $(sessions_db) - s0 ))
	[ "$theirs" -ge "$made" ] && break
	sleep 0.1
done
echo
echo "accuracy: pgbench -C -R 20 for ${accuracy_seconds} s made $made sessions (pg_stat_database.sessions grew by $theirs, this script's own queries included)"
awk -v o="$ours" -v p="$polled" -v m="$made" 'BEGIN {
	printf "  pgpool_stats counted %d: %.1f%%;  a 1 s poller of pg_stat_activity saw %d: %.1f%%\n", o, 100 * o / m, p, 100 * p / m }'

# --- memory ----------------------------------------------------------------
# The shared memory in use, as pg_shmem_allocations shows it, next to the
# README's formula, at the defaults and with max_entries = 10000.
memory_row()
{
	local measured predicted
	measured=$(q "SELECT size FROM pg_shmem_allocations WHERE name = 'pgpool_stats'")
	predicted=$(q "SELECT 208 + 32 * (current_setting('max_connections')::int
				+ current_setting('autovacuum_max_workers')::int + 1
				+ current_setting('max_worker_processes')::int
				+ current_setting('max_wal_senders')::int)
			+ 40 * current_setting('pgpool_stats.history_size')::int
			+ 128 * current_setting('pgpool_stats.history_rows')::int
			+ 2600 * current_setting('pgpool_stats.max_entries')::int + 8192")
	printf '  max_entries %-6s max_connections %-4s %12s bytes measured, %12s by the formula (%+.1f%%)\n' \
		"$(q 'SHOW pgpool_stats.max_entries')" "$(q 'SHOW max_connections')" "$measured" "$predicted" \
		"$(awk -v m="$measured" -v p="$predicted" 'BEGIN { print 100 * (p - m) / m }')"
}
echo
echo "shared memory"
memory_row
# (short history buckets for the scaling part that follows)
bucket_s=10
[ "${1:-}" = "--quick" ] && bucket_s=2
pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c pgpool_stats.max_entries=10000 -c max_connections=100 -c pgpool_stats.history_interval=$bucket_s" \
	restart >/dev/null
memory_row

# --- scaling with the number of keys ----------------------------------------
# With 10, 1000 and 10000 keys in the table (distinct application names), the
# cost of a sample and of the connection path should stay flat: both are
# hash look-ups.  Closing a history bucket is not: it walks every key, once
# per history_interval.  So the sample's cost is taken over windows that
# closed no bucket, and a bucket close's cost is what a window with exactly
# one close took beyond its samples (the first close after the keys were
# made is skipped: it writes their rows and maps the pages for the worker).
key_levels=(10 1000 10000)
[ "${1:-}" = "--quick" ] && key_levels=(10 100)
sampler_state() { q "SELECT samples_taken || ' ' || sample_avg_us * samples_taken || ' ' || history_buckets FROM pgpool_stats_info"; }
# prints "sample_us close_us"
sample_and_close()
{
	local half c0 t0 b0 c1 t1 b1 skipped=0 clean="" closed="" tries=0
	half=$(awk -v w="$window" 'BEGIN { print w / 2 }')
	read -r c0 t0 b0 <<<"$(sampler_state)"
	while { [ -z "$clean" ] || [ -z "$closed" ]; } && [ $((tries++)) -lt 200 ]; do
		sleep "$half"
		read -r c1 t1 b1 <<<"$(sampler_state)"
		if [ "$b1" = "$b0" ]; then
			[ -n "$clean" ] || clean="$((c1 - c0)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
		elif [ $((b1 - b0)) = 1 ]; then
			if [ "$skipped" = 1 ]; then
				[ -n "$closed" ] || closed="$((c1 - c0)) $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
			fi
			skipped=1
		fi
		c0=$c1; t0=$t1; b0=$b1
	done
	awk -v c="$clean" -v x="$closed" 'BEGIN {
		split(c, a, " "); split(x, b, " ")
		if (a[1] == 0) { print "nan nan"; exit }
		s = a[2] / a[1]
		if (b[1] == 0) printf "%.2f nan\n", s
		else printf "%.2f %.0f\n", s, b[2] - b[1] * s }'
}
echo
printf '%-8s %14s %18s %18s\n' keys "sample us" "bucket close us" "connections/s"
have=0
for k in "${key_levels[@]}"; do
	seq $((have + 1)) "$k" | pgps_as_pg env PGHOST="$dir" PGPORT="$port" PGUSER=postgres \
		xargs -P 4 -I{} psql -XAtq -d "dbname=postgres application_name=key-{}" -c 'SELECT 1' >/dev/null
	have=$k
	set_interval 10ms
	read -r sample_us close_us <<<"$(sample_and_close)"
	set_interval 100ms
	printf '%-8s %14s %18s %18.1f\n' "$(q 'SELECT entries FROM pgpool_stats_info')" \
		"$sample_us" "$close_us" "$(tps -C -S -c 2 -j 2)"
done
echo "(bucket close: once per history_interval, $bucket_s s here, 60 s by default)"

# A full table and a client with a new name in every connection (a request id
# in application_name): each new key has to make room by eviction, a scan of
# the table.  Side by side with the same client reusing one name, in
# interleaved runs of psql connections two at a time, the order alternating
# from pair to pair so that a drift of the machine cancels out.
full=${key_levels[-1]}
evict_conns=200; evict_pairs=10
[ "${1:-}" = "--quick" ] && { evict_conns=100; evict_pairs=1; }
pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
	-o "-c pgpool_stats.max_entries=$full -c max_connections=100" restart >/dev/null
seq "$full" | pgps_as_pg env PGHOST="$dir" PGPORT="$port" PGUSER=postgres \
	xargs -P 4 -I{} psql -XAtq -d "dbname=postgres application_name=full-{}" -c 'SELECT 1' >/dev/null
names_rate()
{
	local t0 t1
	t0=$(date +%s.%N)
	seq "$evict_conns" | pgps_as_pg env PGHOST="$dir" PGPORT="$port" PGUSER=postgres \
		xargs -P 2 -I{} psql -XAtq -d "dbname=postgres application_name=$1" -c 'SELECT 1' >/dev/null
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n="$evict_conns" 'BEGIN { printf "%.2f", n / (b - a) }'
}
evicted0=$(q 'SELECT evicted FROM pgpool_stats_info')
same_runs=(); fresh_runs=(); name_ratios=()
for ((p = 1; p <= evict_pairs; p++)); do
	if ((p % 2)); then
		same=$(names_rate same-name); fresh=$(names_rate "fresh$p-{}")
	else
		fresh=$(names_rate "fresh$p-{}"); same=$(names_rate same-name)
	fi
	same_runs+=("$same"); fresh_runs+=("$fresh")
	name_ratios+=("$(awk -v s="$same" -v f="$fresh" 'BEGIN { printf "%.4f", f / s }')")
done
echo
echo "a full table (max_entries $full), $evict_pairs interleaved pairs of $evict_conns psql connections, connections/s:"
printf '  one name %.1f, a new name each %.1f: ratio %.3f (pair ratios %s)\n' \
	"$(printf '%s\n' "${same_runs[@]}" | median)" "$(printf '%s\n' "${fresh_runs[@]}" | median)" \
	"$(printf '%s\n' "${name_ratios[@]}" | median)" \
	"$(printf '%s\n' "${name_ratios[@]}" | minmax -)"
echo "  keys evicted meanwhile: $(( $(q 'SELECT evicted FROM pgpool_stats_info') - evicted0 ))" \
	"(one scan frees a twentieth of the table)"
pgps_cluster_stop "$dir"

# --- the pooled path, in instructions ----------------------------------------
# tps cannot resolve 1% here, so count instructions instead (callgrind is
# exact and repeatable): the server under valgrind, with and without the
# library, one pgbench -S client running N1 then N2 transactions; the
# backend's instructions per transaction are the difference over N2 - N1.
if ! command -v valgrind >/dev/null 2>&1; then
	[ "$(id -u)" -eq 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
n1=500; n2=2500; nconn=100
[ "${1:-}" = "--quick" ] && { n1=100; n2=300; nconn=10; }
cg=$dir/callgrind
pgps_as_pg mkdir -p "$cg"
# the server under callgrind, with the library ($1 = pgpool_stats) or not;
# the same start each time: no saved statistics to load, none to save
callgrind_start()
{
	pgps_as_pg find "$cg" -name 'cg.*' -delete
	pgps_as_pg rm -f "$dir/data/pg_stat/pgpool_stats.stat"
	pgps_as_pg bash -c "cd '$cg' && exec valgrind --tool=callgrind --trace-children=yes \
		${2:-} --callgrind-out-file='$cg/cg.%p' '$bin/postgres' -D '$dir/data' \
		-c shared_preload_libraries='$1' -c pgpool_stats.save=off \
		-c max_connections=20 -c autovacuum=off >'$cg/server.log' 2>&1" &
	for _ in $(seq 300); do
		pgps_as_pg "$bin/pg_isready" -h "$dir" -p "$port" -q && break
		sleep 0.2
	done
}
callgrind_stop()
{
	pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	wait
}
cg_files() { find "$cg" -name 'cg.*' | sort; }
backend_instructions()
{
	callgrind_start "$1"
	pgps_as_pg "${pg_env[@]}" pgbench -n -S -c 1 -t "$2" >/dev/null 2>&1
	callgrind_stop
	# the backend that ran the transactions executed the most instructions
	for f in "$cg"/cg.*; do awk '/^totals:/ { print $2 }' "$f"; done | sort -n | tail -1
}
# Instructions of a whole connection: the median over the $2 + 1 backends of
# one pgbench -C -S client, each counted inside PostgresMain (login, start-up
# transaction, the query, exit; a forked child would otherwise carry the
# postmaster's counts from before the fork).  A backend writes its file as
# it exits, so the new files are those backends'.
connection_instructions()
{
	local before new
	callgrind_start "$1" "--collect-atstart=no --toggle-collect=PostgresMain"
	before=$(cg_files)
	pgps_as_pg "${pg_env[@]}" pgbench -n -C -S -c 1 -t "$2" >/dev/null 2>&1
	for _ in $(seq 600); do
		new=$(comm -13 <(echo "$before") <(cg_files))
		[ "$(echo "$new" | grep -c .)" -ge $(($2 + 1)) ] && break
		sleep 0.1
	done
	# read once the server is down: every file is complete, the last
	# backend's too
	callgrind_stop
	new=$(comm -13 <(echo "$before") <(cg_files))
	# the median: a stray backend (a pg_isready probe ending late) moves it
	# by nothing
	for f in $new; do awk '/^totals:/ && $2 > 0 { print $2 }' "$f"; done >"$cg/totals"
	if [ "$(wc -l <"$cg/totals")" -lt $(($2 + 1)) ]; then
		pgps_log "callgrind: $(wc -l <"$cg/totals") backends counted, $(($2 + 1)) expected"
		exit 1
	fi
	median <"$cg/totals"
}
if command -v valgrind >/dev/null 2>&1; then
	declare -A per_tx
	for mode in with without; do
		lib=; [ $mode = with ] && lib=pgpool_stats
		a=$(backend_instructions "$lib" "$n1")
		b=$(backend_instructions "$lib" "$n2")
		per_tx[$mode]=$(awk -v a="$a" -v b="$b" -v n=$((n2 - n1)) 'BEGIN { printf "%.1f", (b - a) / n }')
	done
	echo
	echo "pooled path, instructions per pgbench -S transaction in the backend (callgrind, $n1 vs $n2 transactions):"
	awk -v w="${per_tx[with]}" -v wo="${per_tx[without]}" 'BEGIN {
		printf "  with %.1f, without %.1f: %+.1f instructions, ratio %.5f\n", w, wo, w - wo, wo / w }'
	declare -A per_conn
	for mode in with without; do
		lib=; [ $mode = with ] && lib=pgpool_stats
		per_conn[$mode]=$(connection_instructions "$lib" "$nconn")
	done
	echo "connection path, instructions per connection in its backend's PostgresMain (callgrind, $((nconn + 1)) pgbench -C -S connections):"
	awk -v w="${per_conn[with]}" -v wo="${per_conn[without]}" 'BEGIN {
		printf "  with %.0f, without %.0f: %+.0f instructions, ratio %.5f\n", w, wo, w - wo, wo / w }'
else
	echo "valgrind not available: instruction counts skipped"
fi
