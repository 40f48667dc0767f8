# The pooled path and the connection path in instructions: tps cannot
# resolve 1% here, and callgrind is exact and repeatable.  The server runs
# under valgrind, with and without the library, on the scratch cluster's
# data directory (the cluster is stopped first).

cg_files() { find "$cg" -name 'cg.*' | sort; }

# the server under callgrind, with the library ($1 = pgpool_stats) or not,
# and further valgrind options $2; the same start each time: no saved
# statistics to load, none to save
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

# Instructions of the backend that ran $2 pgbench -S transactions: the
# backend executed the most instructions of all the processes
backend_instructions()
{
	callgrind_start "$1"
	pgc pgbench -n -S -c 1 -t "$2" >/dev/null 2>&1
	callgrind_stop
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
	pgc pgbench -n -C -S -c 1 -t "$2" >/dev/null 2>&1
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

bench_instructions()
{
	local -A per_tx per_conn
	local mode lib a b

	if ! command -v valgrind >/dev/null 2>&1; then
		echo "valgrind not available: instruction counts skipped"
		return 0
	fi
	bench_stop
	cg=$dir/callgrind
	pgps_as_pg mkdir -p "$cg"

	# pooled: one pgbench -S client runs n1 then n2 transactions; the
	# backend's instructions per transaction are the difference over n2 - n1
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

	for mode in with without; do
		lib=; [ $mode = with ] && lib=pgpool_stats
		per_conn[$mode]=$(connection_instructions "$lib" "$nconn")
	done
	echo "connection path, instructions per connection in its backend's PostgresMain (callgrind, $((nconn + 1)) pgbench -C -S connections):"
	awk -v w="${per_conn[with]}" -v wo="${per_conn[without]}" 'BEGIN {
		printf "  with %.0f, without %.0f: %+.0f instructions, ratio %.5f\n", w, wo, w - wo, wo / w }'
}
