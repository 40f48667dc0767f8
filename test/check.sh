#!/usr/bin/env bash
# Every test of pgpool_stats: build with -Werror, install, then pg_regress
# (sql/, expected/) and the TAP tests (test/t/) on scratch clusters of their
# own.  Works as root on a fresh Debian machine and leaves nothing running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pgps_install_deps
pgps_install_node_clients
pgps_build_install

# The suites write results and start servers: as root they run as postgres,
# in a copy of the tree that user owns.
work=$(pgps_workdir)
trap 'pgps_cleanup "$work"' EXIT
pgps_copy_tree "$work"

pgps_log "running pg_regress and the TAP tests"
status=0
pgps_as_pg make -C "$work" -s PG_CONFIG="$PG_CONFIG" installcheck || status=$?

if [ $status -ne 0 ]; then
	[ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"
	for log in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$log" ] || continue
		if grep -q '^not ok\|Dubious\|died' "$log"; then
			echo "---- $log (last 60 lines)"
			tail -n 60 "$log"
		fi
	done
fi
exit $status
