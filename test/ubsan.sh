#!/usr/bin/env bash
# Every test (pg_regress and TAP, as test/check.sh runs them) against a build
# of the library instrumented with UndefinedBehaviorSanitizer: out-of-range
# shifts, misaligned or null pointers, out-of-bounds indexes, invalid enum
# and bool values.  The sanitizer reports to each server's log; any report
# fails the run.  Signed overflow is not undefined here: PostgreSQL builds
# with -fwrapv.  The normal build is installed again at the end.  Not part of
# CI (a few minutes).
#
#   bash test/ubsan.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pgps_install_deps

work=$(pgps_workdir)
restore()
{
	pgps_cleanup "$work"
	pgps_log "installing the normal build again"
	pgps_build_install
}
trap restore EXIT
pgps_copy_tree "$work"

pgps_log "building with -fsanitize=undefined"
flags='-Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=undefined -fno-omit-frame-pointer'
pgps_as_pg make -C "$work" -s PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$flags" \
	PG_LDFLAGS=-fsanitize=undefined SHLIB_LINK=-lubsan >/dev/null
pgps_install_from "$work"
ldd "$("$PG_CONFIG" --pkglibdir)/pgpool_stats.so" | grep -q libubsan || {
	pgps_log "the installed library is not instrumented"
	exit 1
}

pgps_log "running pg_regress and the TAP tests"
status=0
pgps_as_pg make -C "$work" -s PG_CONFIG="$PG_CONFIG" installcheck >"$work/installcheck.out" 2>&1 || status=$?
tail -n 4 "$work/installcheck.out"

reports=$(grep -rh 'runtime error' "$work/log" "$work/tmp_check/log" 2>/dev/null || true)
if [ -n "$reports" ]; then
	echo "$reports" | sort | uniq -c
	echo "ubsan: FAILED: undefined behaviour reported"
	exit 1
fi
if [ $status -ne 0 ]; then
	echo "ubsan: FAILED: the tests failed (see above)"
	exit $status
fi
echo "ubsan: every test passed with the instrumented library, no report"
