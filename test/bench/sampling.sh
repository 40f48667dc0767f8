# Sampling cost: N idle client connections (pgbench sleeping), then the
# server-side time of one of the worker's samples (timed inside the
# extension; the worker samples every 10 ms meanwhile, so that a few seconds
# hold hundreds of samples) next to the SQL poll monitoring loops run today,
# as pgbench latency minus the SELECT 1 round trip.  Last, the worker's CPU
# at the default interval.

latency_us()
{
	pgc pgbench -n -t 200 -f "$1" 2>/dev/null \
		| awk '/^latency average/ { print $4 * 1000; exit }'
}

sample_total() { q "SELECT samples_taken || ' ' || sample_avg_us * samples_taken FROM pgpool_stats_info"; }

bench_sampling()
{
	local n idle_pid c0 t0 c1 t1 sample_us poll floor wpid k0 k1 worker_cpu worker_n

	pgps_as_pg tee "$dir/idle.sql" >/dev/null <<<'\sleep 600 s'
	pgps_as_pg tee "$dir/poll.sql" >/dev/null <<<'SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2;'
	pgps_as_pg tee "$dir/one.sql" >/dev/null <<<'SELECT 1;'

	echo
	printf '%-12s %12s %12s %12s %14s %12s\n' connections "sample us" "us/backend" "poll us" "poll-floor us" "poll/sample"
	for n in "${levels[@]}"; do
		pgc env PGAPPNAME=idle_pool pgbench -n -c "$n" -j 2 -T 600 -f "$dir/idle.sql" >/dev/null 2>&1 &
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
	done
	echo "(sample us: server-side time of one of the worker's samples, timed inside the extension;"
	echo " poll-floor: the pg_stat_activity poll minus a SELECT 1 round trip, both pgbench latency)"
	echo "worker CPU at sample_interval 100 ms with $worker_n connections: $worker_cpu% of one core over ${cpu_seconds} s"
	set_interval 100ms
}
