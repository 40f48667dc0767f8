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
trap 'pgps_cleanup "$dir"' EXIT
pgps_cluster_start "$dir" "$port" "shared_preload_libraries = 'pgpool_stats'"
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
		-o "-c shared_preload_libraries=$preload" restart >/dev/null
}

# tps of one pgbench run (for -C runs, connections per second)
tps()
{
	pgps_as_pg "${pg_env[@]}" pgbench -n "$@" -T "$seconds" 2>/dev/null \
		| awk '/^tps = / { print $3; exit }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

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
		"$(printf '%s\n' "$ratios" | sort -g | sed -n '1p;$p' | paste -sd-)"
done
echo "(ratio: median of the per-pair ratios with/without; 1.000 means no measurable cost)"

pgps_cluster_stop "$dir"
