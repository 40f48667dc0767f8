# Accuracy against a poller: short sessions at a steady rate (pgbench -C -R
# 20), while a poller reads pg_stat_activity once a second the way load-test
# scripts do and remembers every pid it saw.  pgpool_stats must count every
# session (checked against pgbench's own count and
# pg_stat_database.sessions); the poller's share is the blind spot.

sessions_db() { q "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'"; }

bench_accuracy()
{
	local s0 load made ours polled theirs

	s0=$(sessions_db)
	pgc env PGAPPNAME=short_lived pgbench -n -C -S -c 1 -R 20 -T "$accuracy_seconds" \
		>"$dir/accuracy.out" 2>&1 &
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
}
