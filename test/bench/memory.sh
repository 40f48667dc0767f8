# Shared memory: the region in use, as pg_shmem_allocations shows it, next
# to the README's formula, at the defaults and with max_entries = 10000.
# The formula takes the counts from the settings and the size of each item
# from the server (pgpool_stats_memory), so it holds on any build: the keys,
# and a bucket (an entry number) each up to the next power of two, at least
# one per partition.

memory_row()
{
	local measured predicted
	measured=$(q "SELECT size FROM pg_shmem_allocations WHERE name = 'pgpool_stats'")
	predicted=$(q "WITH s AS (SELECT part, item_bytes FROM pgpool_stats_memory),
		b(n) AS (SELECT current_setting('max_connections')::int
				+ current_setting('autovacuum_max_workers')::int + 1
				+ current_setting('max_worker_processes')::int
				+ current_setting('max_wal_senders')::int),
		k(n) AS (SELECT current_setting('pgpool_stats.max_entries')::bigint)
		SELECT (SELECT item_bytes FROM s WHERE part = 'shared state')
			+ (SELECT item_bytes FROM s WHERE part = 'session slots') * b.n
			+ (SELECT item_bytes FROM s WHERE part = 'history buckets') * current_setting('pgpool_stats.history_size')::int
			+ (SELECT item_bytes FROM s WHERE part = 'history rows') * current_setting('pgpool_stats.history_rows')::int
			+ (SELECT item_bytes FROM s WHERE part = 'keys') * k.n
			+ 4 * greatest(power(2, ceil(log(2, k.n))), 64)::bigint
		  FROM b, k")
	printf '  max_entries %-6s max_connections %-4s %12s bytes measured, %12s by the formula (%+.1f%%)\n' \
		"$(q 'SHOW pgpool_stats.max_entries')" "$(q 'SHOW max_connections')" "$measured" "$predicted" \
		"$(awk -v m="$measured" -v p="$predicted" 'BEGIN { print 100 * (p - m) / m }')"
}

bench_memory()
{
	echo
	echo "shared memory (item sizes from pgpool_stats_memory: $(q "SELECT string_agg(part || ' ' || item_bytes, ', ') FROM pgpool_stats_memory"))"
	memory_row
	restart_with "-c pgpool_stats.max_entries=10000 -c max_connections=100"
	memory_row
	restart_with
}
