#!/usr/bin/env bash
# Benchmarks of pgpool_stats, measured side by side in one run: the same
# scratch cluster restarted with and without the library preloaded, in
# interleaved pairs, medians and ratios.  One file a measurement, in
# test/bench/ (common.sh holds what they share):
#   overhead      connection and pooled paths, with against without
#   sampling      a sample's cost against the SQL poll, the worker's CPU
#   accuracy      sessions counted against a 1 s poller
#   memory        shared memory against the README's formula
#   scaling       samples, bucket closes and connections as keys grow
#   readers       new-key logins under readers, a reader's memory, eviction
#   scrape        what a Prometheus scrape of monitoring/ costs the server
#   instructions  both paths in callgrind's exact instruction counts
#
#   bash test/bench.sh                  full run (BENCH_* variables: see common.sh)
#   bash test/bench.sh --quick          one short round of each: checks the script works
#   bash test/bench.sh --only a,b       only these parts
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
. "$here/bench/common.sh"

bench_parse_options "$@"
pgps_install_deps
bench_install_tools
pgps_build_install
bench_setup

echo "pgpool_stats benchmark: $(nproc) cores, $(pgps_as_pg "$bin/postgres" --version), parts: ${bench_parts[*]}$([ "$bench_quick" = 1 ] && echo ' (quick)')"
for part in "${bench_parts[@]}"; do
	# shellcheck source=/dev/null
	. "$here/bench/$part.sh"
	restart with
	"bench_$part"
done
