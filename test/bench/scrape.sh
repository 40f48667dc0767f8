# What a Prometheus scrape costs the server: every query of
# monitoring/postgres_exporter/queries.yaml as the exporter runs them (each
# planned and executed), server time from EXPLAIN ANALYZE (planning plus
# execution, timing off, the best of several runs), and the series they
# make, at several numbers of keys made by the fill module; the queries
# the exporter caches (cache_seconds) apart from those it runs at every
# scrape.  For scale, the same measure of the poll the shell loops run
# over pg_stat_activity, at the same moment.  Per-key figures are those of keys made by the fill
# module: one application each, no address, sampled but without sessions.

scrape_setup()
{
	bench_fill_setup
	pgps_as_pg cp "$PGPS_ROOT/monitoring/postgres_exporter/queries.yaml" "$dir/queries.yaml"
	pgps_as_pg tee "$dir/scrape.py" >/dev/null <<'PY'
# The timed queries of test/bench/scrape.sh, with psycopg; the connection
# settings come from the environment.
#   scrape.py QUERIES RUNS KEYS
import re
import sys

import psycopg
import yaml

POLL = "SELECT application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2"
spec = yaml.safe_load(open(sys.argv[1]))
runs = int(sys.argv[2])
keys = int(sys.argv[3])
conn = psycopg.connect(autocommit=True, application_name="bench-scrape")


def server_ms(sql):
	best = None
	for _ in range(runs):
		plan = "\n".join(r[0] for r in conn.execute("EXPLAIN (ANALYZE, TIMING OFF) " + sql))
		ms = sum(float(m) for m in re.findall(r"(?:Planning|Execution) Time: ([\d.]+) ms", plan))
		best = ms if best is None else min(best, ms)
	return best


live = cached = 0.0
series = 0
parts = []
for name, q in spec.items():
	values = sum(1 for c in q["metrics"] if next(iter(c.values()))["usage"] != "LABEL")
	rows = len(conn.execute(q["query"]).fetchall())
	ms = server_ms(q["query"])
	if q.get("cache_seconds"):
		cached += ms
	else:
		live += ms
	series += rows * values
	parts.append("%s %.2f%s" % (name.replace("pgpool_stats_", ""), ms, "*" if q.get("cache_seconds") else ""))
poll = server_ms(POLL)
# at a scrape every 15 s, the cached queries run every 60 s
per_second = (live + cached * 15 / 60) / 15
print("  %6d keys: %7.2f ms every scrape, %7.2f ms a minute (*), %7d series (%.1f a key);"
      " at a 15 s interval %.2f%% of a core (the pg_stat_activity poll: %.2f ms)"
      % (keys, live, cached, series, series / keys, per_second / 10, poll))
print("               " + ", ".join(parts))
PY
}

bench_scrape()
{
	local keys levels_s runs=5
	scrape_setup
	if [ "$bench_quick" = 1 ]; then levels_s=(100); runs=1; else levels_s=(100 1000 10000); fi
	echo "scrape: the exporter's queries (monitoring/postgres_exporter/queries.yaml), server time (planning + execution, best of $runs; * cached a minute by the exporter), the series they make:"
	for keys in "${levels_s[@]}"; do
		restart_with "-c pgpool_stats.max_entries=$((keys + 100)) -c max_connections=100 -c pgpool_stats.save=off"
		fill_to "$keys" scrape-app-
		q 'SELECT pgpool_stats_sample()' >/dev/null
		pgc /usr/bin/python3 "$dir/scrape.py" "$dir/queries.yaml" "$runs" "$(q 'SELECT entries FROM pgpool_stats_info')"
	done
	restart_with
}
