# Scaling with the number of keys: with 10, 1000 and 10000 keys in the table
# (distinct application names), the cost of a sample and of the connection
# path should stay flat: both are hash look-ups.  Closing a history bucket is
# not: it walks every key, once per history_interval.  So the sample's cost
# is taken over windows that closed no bucket, and a bucket close's cost is
# what a window with exactly one close took beyond its samples (the first
# close after the keys were made is skipped: it writes their rows and maps
# the pages for the worker).  Then a full table and a client with a new
# name in every connection.

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

# connections/s of $evict_conns psql connections named $1, two at a time
names_rate()
{
	local t0 t1
	t0=$(date +%s.%N)
	psql_connections 1 "$evict_conns" "$1" 2
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n="$evict_conns" 'BEGIN { printf "%.2f", n / (b - a) }'
}

bench_scaling()
{
	local have=0 k sample_us close_us full evicted0 p same fresh
	local same_runs=() fresh_runs=() name_ratios=()

	restart_with "-c pgpool_stats.max_entries=10000 -c max_connections=100 -c pgpool_stats.history_interval=$bucket_s"
	echo
	printf '%-8s %14s %18s %18s\n' keys "sample us" "bucket close us" "connections/s"
	for k in "${key_levels[@]}"; do
		psql_connections $((have + 1)) "$k" "key-{}"
		have=$k
		set_interval 10ms
		read -r sample_us close_us <<<"$(sample_and_close)"
		set_interval 100ms
		printf '%-8s %14s %18s %18.1f\n' "$(q 'SELECT entries FROM pgpool_stats_info')" \
			"$sample_us" "$close_us" "$(tps -C -S -c 2 -j 2)"
	done
	echo "(bucket close: once per history_interval, $bucket_s s here, 60 s by default)"

	# A full table and a client with a new name in every connection (a
	# request id in application_name): each new key has to make room by
	# eviction, a scan of the table.  Side by side with the same client
	# reusing one name, in interleaved runs of psql connections two at a
	# time, the order alternating from pair to pair so that a drift of the
	# machine cancels out.
	full=${key_levels[-1]}
	restart_with "-c pgpool_stats.max_entries=$full -c max_connections=100"
	psql_connections 1 "$full" "full-{}"
	evicted0=$(q 'SELECT evicted FROM pgpool_stats_info')
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
	restart_with
}
