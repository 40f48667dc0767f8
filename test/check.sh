#!/usr/bin/env bash
# Every test of pgpool_stats: build with -Werror, install, then pg_regress
# (sql/, expected/) and the TAP tests (test/t/) on scratch clusters of their
# own, each suite run and reported on its own, so that a failure in one never
# hides the other.  Works as root on a fresh Debian machine and leaves
# nothing running.
#
# PGPS_INSTALLED=1 tests the extension as installed (from a .deb, say)
# instead of building and installing it; PGPS_PG_MAJOR and PG_CONFIG choose
# the PostgreSQL major (15, the host's, unless given).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pgps_install_deps
pgps_install_node_clients

# The packaging says the same version as the extension: META.json (PGXN),
# debian/changelog, the control file's default_version
pgps_log "checking the packaging metadata"
/usr/bin/python3 - "$PGPS_ROOT" <<'PY'
import json, os, re, sys
root = sys.argv[1]
control = open(os.path.join(root, "pgpool_stats.control")).read()
version = re.search(r"default_version = '([^']+)'", control).group(1)
meta = json.load(open(os.path.join(root, "META.json")))
problems = []
if not meta["version"].startswith(version + "."):
    problems.append("META.json version %s is not %s" % (meta["version"], version))
for name, p in meta["provides"].items():
    if p["version"] != meta["version"]:
        problems.append("META.json provides %s %s, not %s" % (name, p["version"], meta["version"]))
    if not os.path.exists(os.path.join(root, p["file"])):
        problems.append("META.json names a missing file: %s" % p["file"])
    if p["file"] != "sql/pgpool_stats--%s.sql" % version:
        problems.append("META.json names %s, not the %s install script" % (p["file"], version))
changelog = open(os.path.join(root, "debian", "changelog")).readline()
deb = re.match(r"\S+ \(([^)-]+)", changelog).group(1)
if deb != version:
    problems.append("debian/changelog is at %s, not %s" % (deb, version))
if problems:
    sys.exit("packaging metadata: " + "; ".join(problems))
PY

if [ "${PGPS_INSTALLED:-0}" = 1 ]; then
	pgps_log "testing the installed pgpool_stats ($("$PG_CONFIG" --pkglibdir)/pgpool_stats.so)"
	[ -f "$("$PG_CONFIG" --pkglibdir)/pgpool_stats.so" ] || { echo "pgpool_stats is not installed" >&2; exit 1; }
else
	pgps_build_install
fi

# The suites write results and start servers: as root they run as postgres,
# in a copy of the tree that user owns.
work=$(pgps_workdir)
trap 'pgps_cleanup "$work"' EXIT
pgps_copy_tree "$work"

pgps_log "running pg_regress"
regress=0
pgps_as_pg make -C "$work" -s PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= || regress=$?
[ $regress -eq 0 ] || { [ -f "$work/regression.diffs" ] && cat "$work/regression.diffs"; }

pgps_log "running the TAP tests"
tap=0
pgps_as_pg make -C "$work" -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS= || tap=$?
if [ $tap -ne 0 ]; then
	for log in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$log" ] || continue
		if grep -q '^not ok\|Dubious\|died' "$log"; then
			echo "---- $log (last 60 lines)"
			tail -n 60 "$log"
		fi
	done
fi

echo
echo "PostgreSQL $("$PG_CONFIG" --version | awk '{ print $2 }'): pg_regress $([ $regress -eq 0 ] && echo passed || echo FAILED), TAP $([ $tap -eq 0 ] && echo passed || echo FAILED)"
[ $regress -eq 0 ] && [ $tap -eq 0 ]
