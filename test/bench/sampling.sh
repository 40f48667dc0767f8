# Sampling cost: N idle client connections (pgbench sleeping), then the
# server-side time of one of the worker's samples (timed inside the
# extension; the worker samples every 10 ms meanwhile, so that a few seconds
# hold hundreds of samples) next to the SQL poll monitoring loops run today,
# as pgbench latency minus the SELECT 1 round trip.  Then the same N
# connections as a pooler's: each carries another application's name (SET
# application_name, as PgBouncer does) and sits in a transaction, so every
# sample counts each of them for that application too (the most a pooled
# session costs a sample).  Last, the worker's CPU at the default interval.

latency_us()
{
	pgc pgbench -n -t 200 -f "$1" 2>/dev/null \
		| awk '/^latency average/ { print $4 * 1000; exit }'
}

sample_total() { q "SELECT samples_taken || ' ' || sample_avg_us * samples_taken FROM pgpool_stats_info"; }

# Start n clients of a pgbench script under a name, wait until the server
# shows them in the state given; prints pgbench's pid
start_sessions()
{
	local n=$1 script=$2 app=$3 state=$4
	pgc env PGAPPNAME="$app" pgbench -n -c "$n" -j 2 -T 600 -f "$script" >/dev/null 2>&1 &
	echo $!
	for _ in $(seq 600); do
		[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND state = '$state' AND application_name LIKE '$app%'")" -ge "$n" ] && break
		sleep 0.1
	done
}

# The mean server-side time of the worker's samples over $window seconds
mean_sample_us()
{
	local c0 t0 c1 t1
	read -r c0 t0 <<<"$(sample_total)"
	sleep "$window"
	read -r c1 t1 <<<"$(sample_total)"
	awk -v a="$t0" -v b="$t1" -v m="$c0" -v n="$c1" 'BEGIN { printf "%.2f", (b - a) / (n - m) }'
}

bench_sampling()
{
	local n idle_pid sample_us pooled_us poll floor wpid k0 k1 worker_cpu worker_n

	pgps_as_pg tee "$dir/idle.sql" >/dev/null <<<'\sleep 600 s'
	pgps_as_pg tee "$dir/idle_pooled.sql" >/dev/null <<'SQL'
SET application_name = 'behind_:client_id';
BEGIN;
SELECT 1;
\sleep 600 s
END;
SQL
	pgps_as_pg tee "$dir/poll.sql" >/dev/null <<<'SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2;'
	pgps_as_pg tee "$dir/one.sql" >/dev/null <<<'SELECT 1;'

	echo
	printf '%-12s %12s %12s %12s %14s %12s %18s\n' connections "sample us" "us/backend" "poll us" "poll-floor us" "poll/sample" "pooled us/backend"
	for n in "${levels[@]}"; do
		idle_pid=$(start_sessions "$n" "$dir/idle.sql" idle_pool idle)
		set_interval 10ms
		sample_us=$(mean_sample_us)
		poll=$(latency_us "$dir/poll.sql")
		floor=$(latency_us "$dir/one.sql")
		if [ "$n" = "${levels[-1]}" ]; then
			# the worker's own CPU time at the default interval, from /proc
			set_interval 100ms
			wpid=$(q 'SELECT worker_pid FROM pgpool_stats_info')
			k0=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
			sleep "$cpu_seconds"
			k1=$(awk '{ print $14 + $15 }' "/proc/$wpid/stat")
			worker_cpu=$(awk -v a="$k0" -v b="$k1" -v hz="$(getconf CLK_TCK)" -v s="$cpu_seconds" \
				'BEGIN { printf "%.2f", 100 * (b - a) / hz / s }')
			worker_n=$n
		fi
		# runuser does not pass the signal on: stop the clients themselves
		stop_idle
		wait "$idle_pid" 2>/dev/null || true

		# the same number of sessions lent by a pooler, each busy for another name
		idle_pid=$(start_sessions "$n" "$dir/idle_pooled.sql" behind_ 'idle in transaction')
		pooled_us=$(mean_sample_us)
		stop_idle
		wait "$idle_pid" 2>/dev/null || true

		printf '%-12s %12s %12.4f %12.0f %14.0f %12.0f %18.4f\n' "$n" "$sample_us" \
			"$(awk -v s="$sample_us" -v n="$n" 'BEGIN { print s / n }')" "$poll" \
			"$(awk -v p="$poll" -v f="$floor" 'BEGIN { print p - f }')" \
			"$(awk -v p="$poll" -v f="$floor" -v s="$sample_us" 'BEGIN { print (p - f) / s }')" \
			"$(awk -v s="$pooled_us" -v n="$n" 'BEGIN { print s / n }')"
	done
	echo "(sample us: server-side time of one of the worker's samples, timed inside the extension;"
	echo " poll-floor: the pg_stat_activity poll minus a SELECT 1 round trip, both pgbench latency;"
	echo " pooled: the same sessions, each in a transaction under another application's name)"
	echo "worker CPU at sample_interval 100 ms with $worker_n connections: $worker_cpu% of one core over ${cpu_seconds} s"
	set_interval 100ms
}
