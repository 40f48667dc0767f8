# Readers of pgpool_stats_connections, and what they cost everyone else: a
# reader walks the key store while a login with a new application_name
# must add its key to it, and what the reader copies is its own memory.
# The keys are made in bulk by a bench-only module (test/bench/fill: a
# million keys made by logins would take hours), then:
#   a. new-key logins under 16 sessions reading the view, against the same
#      16 sessions running a CPU-bound query (the machine as loaded), in
#      interleaved pairs; a known key's logins under the readers for reference
#   b. one reader's peak private memory and the query's time
#   c. the new-key login that finds the table full and must evict, then the
#      next ones
# The statistics are not saved (pgpool_stats.save = off): each restart
# starts from an empty table.

# The fill module (common.sh); the unprivileged role the readers log in
# as; the load scripts and the timed clients
readers_setup()
{
	bench_fill_setup
	q "DO \$\$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_reader') THEN
			CREATE ROLE bench_reader LOGIN;
		END IF; END \$\$" >/dev/null
	echo 'SELECT count(*) FROM pgpool_stats_connections;' | pgps_as_pg tee "$dir/R.sql" >/dev/null
	echo 'SELECT count(*) FROM generate_series(1, 200000);' | pgps_as_pg tee "$dir/C.sql" >/dev/null
	pgps_as_pg tee "$dir/readers.py" >/dev/null <<'PY'
# The timed clients of test/bench/readers.sh, with psycopg; the connection
# settings come from the environment (PGHOST, PGPORT, PGUSER, PGDATABASE).
#   logins SCRIPT CLIENTS NAME...  the time to connect of a login under each
#                                  NAME, in ms, a line each, under CLIENTS
#                                  pgbench sessions of bench_reader running
#                                  SCRIPT (- for none)
#   memory USER RUNS QUERY         each run: the peak private memory of
#                                  USER's backend above its value before
#                                  QUERY, in MB, and QUERY's time in ms
import os
import subprocess
import sys
import threading
import time

import psycopg

LOAD = "bench-load"


def timed_login(name):
	t0 = time.perf_counter()
	conn = psycopg.connect(application_name=name)
	t1 = time.perf_counter()
	conn.close()
	return (t1 - t0) * 1000


def sessions(ctl):
	return ctl.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
		(LOAD,)).fetchone()[0]


# poll until the load has n sessions; while it should run, it must
def wait_sessions(ctl, n, load):
	deadline = time.monotonic() + 120
	while True:
		have = sessions(ctl)
		if have == n:
			return
		if n > 0 and load.poll() is not None:
			sys.exit("the load (pgbench) ended: " + load.stderr.read())
		if time.monotonic() > deadline:
			sys.exit(f"the load has {have} sessions, {n} expected")
		time.sleep(0.01)


def logins(script, clients, names):
	load = ctl = None
	if script != "-":
		ctl = psycopg.connect(application_name="bench-control", autocommit=True)
		load = subprocess.Popen(["pgbench", "-n", "-U", "bench_reader", "-c", clients, "-j", "2",
			"-T", "3600", "-f", script], env=dict(os.environ, PGAPPNAME=LOAD),
			stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
		wait_sessions(ctl, int(clients), load)
	times = [timed_login(name) for name in names]
	if load:
		if load.poll() is not None:
			sys.exit("the load (pgbench) ended before the logins did: " + load.stderr.read())
		# a client that failed would have left
		if sessions(ctl) != int(clients):
			sys.exit(f"the load has {sessions(ctl)} sessions left of {clients}")
		load.terminate()
		load.communicate()
		wait_sessions(ctl, 0, load)
		ctl.close()
	print("\n".join(f"{t:.3f}" for t in times))


# private anonymous memory, in kB: not VmRSS or VmHWM, which count the
# shared memory pages the backend touched
def rss_anon(pid):
	with open(f"/proc/{pid}/status") as f:
		for line in f:
			if line.startswith("RssAnon:"):
				return int(line.split()[1])
	sys.exit(f"no RssAnon in /proc/{pid}/status")


def memory(user, runs, query):
	conn = psycopg.connect(user=user, application_name="bench-memory", autocommit=True)
	pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
	# the catalogs the query reads, cached before the first run is measured
	conn.execute("EXPLAIN " + query)
	for _ in range(int(runs)):
		before = rss_anon(pid)
		peak = before
		done = threading.Event()

		def sample():
			nonlocal peak
			while not done.is_set():
				peak = max(peak, rss_anon(pid))
				time.sleep(0.001)

		sampler = threading.Thread(target=sample)
		sampler.start()
		t0 = time.perf_counter()
		conn.execute(query).fetchall()
		t1 = time.perf_counter()
		done.set()
		sampler.join()
		print(f"{(peak - before) / 1024:.1f} {(t1 - t0) * 1000:.1f}")
	conn.close()


if sys.argv[1] == "logins":
	logins(sys.argv[2], sys.argv[3], sys.argv[4:])
else:
	memory(sys.argv[2], sys.argv[3], sys.argv[4])
PY
}

readers_py() { pgc /usr/bin/python3 "$dir/readers.py" "$@"; }

# A login of role $1 under the application_name $2: makes its key
login_as() { pgc env PGAPPNAME="$2" psql -XAtq -U "$1" -c 'SELECT 1' >/dev/null; }


# p50 p90 p99 max (nearest rank) of the values on stdin
percentiles()
{
	sort -g | awk '{ v[NR] = $1 } END {
		split("50 90 99", p, " ")
		for (i = 1; i <= 3; i++) {
			r = int(p[i] * NR / 100); if (r < p[i] * NR / 100) r++; if (r < 1) r = 1
			printf "%.1f ", v[r]
		}
		printf "%.1f\n", v[NR] }'
}

# A row of the logins' table: the label $1, then p50 p90 p99 max of the rest
percentile_row()
{
	local label=$1 p50 p90 p99 max
	shift
	read -r p50 p90 p99 max <<<"$(printf '%s\n' "$@" | percentiles)"
	printf '  %-26s %8s %8s %8s %8s\n' "$label" "$p50" "$p90" "$p99" "$max"
}

p99() { printf '%s\n' "$@" | percentiles | cut -d' ' -f3; }

# a. New-key logins at 10,000 keys, each under a name never seen, under the
# readers and under CPU-bound clients, the pairs' order alternating so that
# a drift of the machine cancels out; the readers' batches alternate a new
# and a known key's logins
readers_logins()
{
	local keys=10000 per=$((login_count / login_pairs)) p i cond order out have
	local reader_ms=() known_ms=() cpu_ms=() names=() t=()

	restart_with "-c pgpool_stats.max_entries=$((2 * keys)) -c max_connections=100 -c pgpool_stats.save=off"
	login_as postgres bench-known
	fill_to "$keys" fill-
	have=$(q 'SELECT entries FROM pgpool_stats_info')
	for ((p = 1; p <= login_pairs; p++)); do
		order="R C"
		((p % 2)) || order="C R"
		for cond in $order; do
			names=()
			for ((i = 1; i <= per; i++)); do
				if [ "$cond" = R ]; then names+=("r$p-$i" bench-known); else names+=("c$p-$i"); fi
			done
			out=$(readers_py logins "$dir/$cond.sql" "$reader_clients" "${names[@]}")
			mapfile -t t <<<"$out"
			if [ "$cond" = R ]; then
				for ((i = 0; i < ${#t[@]}; i += 2)); do
					reader_ms+=("${t[i]}"); known_ms+=("${t[i + 1]}")
				done
			else
				cpu_ms+=("${t[@]}")
			fi
		done
	done

	echo
	echo "logins, ms to connect, at $have keys (max_entries $((2 * keys))), under $reader_clients sessions of an unprivileged role"
	echo "running SELECT count(*) FROM pgpool_stats_connections (readers) or FROM generate_series(1, 200000) (CPU-bound),"
	echo "$login_pairs interleaved pairs of $per logins with a new application_name each:"
	printf '  %-26s %8s %8s %8s %8s\n' "" p50 p90 p99 max
	percentile_row "new key, readers" "${reader_ms[@]}"
	percentile_row "new key, CPU-bound" "${cpu_ms[@]}"
	percentile_row "known key, readers" "${known_ms[@]}"
	printf '  p99 of a new key under readers / under CPU-bound: %.2f (target: within 1.5x)\n' \
		"$(awk -v r="$(p99 "${reader_ms[@]}")" -v c="$(p99 "${cpu_ms[@]}")" 'BEGIN { print r / c }')"
}

# b and c. At each of reader_keys, the table full: one reader's memory (as
# the unprivileged role and as the superuser), then the first new key,
# which must evict, and the next ones.  Every key the measuring clients log
# in under is made before the fill, so that only the timed logins evict.
readers_full_table()
{
	local k i role out why evicted0 row next50 nextmax mem_rows=() evict_rows=() names=() t=()
	local query='SELECT count(*) FROM pgpool_stats_connections'

	for k in "${reader_keys[@]}"; do
		if ! restart_with "-c pgpool_stats.max_entries=$k -c max_connections=100 -c pgpool_stats.save=off" 2>/dev/null; then
			why=$(grep -E 'FATAL|ERROR' "$dir/server.log" | tail -n 1 | sed -E 's/.*(FATAL|ERROR): +//' || true)
			mem_rows+=("$(printf '  %-9s the server did not start: %s' "$k" "${why:-see server.log}")")
			evict_rows+=("$(printf '  %-9s the server did not start' "$k")")
			continue
		fi
		login_as postgres bench-known
		login_as postgres bench-memory
		login_as bench_reader bench-memory
		fill_to "$k" fill-

		row=$(printf '  %-9s' "$(q 'SELECT entries FROM pgpool_stats_info')")
		for role in bench_reader postgres; do
			out=$(readers_py memory "$role" "$mem_runs" "$query")
			row+=$(printf ' %14s %9s' "$(awk '{ print $1 }' <<<"$out" | sort -g | tail -n 1)" \
				"$(awk '{ print $2 }' <<<"$out" | median)")
		done
		mem_rows+=("$row")

		evicted0=$(q 'SELECT evicted FROM pgpool_stats_info')
		names=(bench-known bench-known bench-known bench-known bench-known evict-first)
		for ((i = 1; i <= evict_logins; i++)); do names+=("evict-$i"); done
		out=$(readers_py logins - 0 "${names[@]}")
		mapfile -t t <<<"$out"
		read -r next50 _ _ nextmax <<<"$(printf '%s\n' "${t[@]:6}" | percentiles)"
		evict_rows+=("$(printf '  %-9s %9.1f %14.1f %9s %9s %16s' "$k" \
			"$(printf '%s\n' "${t[@]:0:5}" | median)" "${t[5]}" "$next50" "$nextmax" \
			"$evicted0 -> $(q 'SELECT evicted FROM pgpool_stats_info')")")
	done

	echo
	echo "one reader, a full table (max_entries = keys): $query,"
	echo "its backend's peak private memory (RssAnon sampled every ms, above its value before the query), MB,"
	echo "the most of $mem_runs run(s), and the query's median time, ms:"
	printf '  %-9s %14s %9s %14s %9s\n' keys "unprivileged" ms superuser ms
	printf '%s\n' "${mem_rows[@]}"
	echo "logins into the full table, ms to connect: a known key (median of 5), the first new key (it must"
	echo "evict: a twentieth of the keys its scan covers), then $evict_logins more new keys:"
	printf '  %-9s %9s %14s %9s %9s %16s\n' keys known "first new" "next p50" "next max" "evicted"
	printf '%s\n' "${evict_rows[@]}"
}

bench_readers()
{
	readers_setup
	readers_logins
	readers_full_table
	restart_with
}
