# Overhead of the library on the connection path and the pooled path: the
# same cluster restarted with and without it, in interleaved pairs (with,
# without, with, without, ...), medians of the per-pair ratios; and the
# connection path in the kernel's accounts in each pair.

# The connection path in the kernel's accounts: the backends' minor page
# faults and CPU time (utime + stime) per connection, from the postmaster's
# cminflt, cutime and cstime in /proc (what it reaped from its children),
# over one pgbench -C client making $fault_conns + 1 connections, between two
# moments when the postmaster has no child but its own auxiliary processes
# (autovacuum is off in these runs).  Exact counts, where connections/s are
# noisy.  Sets kernel_faults and kernel_cpu_ms.

# children that are not auxiliary processes (of PostgreSQL 14 to 18):
# backends, and any not reaped yet
transient_children()
{
	local n=0 c
	for c in $(pgrep -P "$1" || true); do
		# a child reaped meanwhile has no cmdline any more: still counted
		# once, gone at the next look
		case "$(tr '\0' ' ' 2>/dev/null <"/proc/$c/cmdline" || true)" in
			*checkpointer* | *"background writer"* | *walwriter* | *"autovacuum launcher"* | \
				*"logical replication launcher"* | *"pgpool_stats collector"* | \
				*"stats collector"* | *archiver* | *"io worker"* | *walsummarizer*) ;;
			*) n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

wait_no_backend()
{
	for _ in $(seq 400); do
		[ "$(transient_children "$1")" -eq 0 ] && return 0
		sleep 0.05
	done
	pgps_log "backends of the postmaster still running after 20 s"
	exit 1
}

kernel_per_connection()
{
	local pm a b
	pm=$(head -1 "$dir/data/postmaster.pid")
	wait_no_backend "$pm"
	a=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
	if ! pgc pgbench -n -C -S -c 1 -t "$fault_conns" >/dev/null 2>"$dir/kernel.err"; then
		cat "$dir/kernel.err" >&2
		pgps_log "pgbench failed"
		exit 1
	fi
	wait_no_backend "$pm"
	b=$(awk '{ print $11, $16 + $17 }' "/proc/$pm/stat")
	read -r kernel_faults kernel_cpu_ms < <(awk -v a="$a" -v b="$b" -v n=$((fault_conns + 1)) \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.2f %.4f\n", (y[1] - x[1]) / n, 1000 * (y[2] - x[2]) / hz / n }')
}

bench_overhead()
{
	local -A runs
	local tests=(conn pooled)
	local -A args=([conn]="-C -S -c 2 -j 2" [pooled]="-S -c 4 -j 2")
	local -A title=(
		[conn]="connection path: pgbench -C -S -c 2, connections/s"
		[pooled]="pooled throughput: pgbench -S -c 4, tps")
	local p mode t k w wo ratios diffs

	for ((p = 1; p <= pairs; p++)); do
		for mode in with without; do
			restart $mode
			for t in "${tests[@]}"; do
				# shellcheck disable=SC2086
				runs[$t,$mode]+="$(tps ${args[$t]}) "
			done
			kernel_per_connection
			runs[faults,$mode]+="$kernel_faults "
			runs[cpu,$mode]+="$kernel_cpu_ms "
		done
		printf 'pair %d/%d done\n' "$p" "$pairs" >&2
	done
	restart with

	echo
	echo "overhead: $pairs interleaved pairs of ${seconds} s"
	printf '%-56s %12s %12s %8s %18s\n' measurement with without ratio "pair ratios min-max"
	for t in "${tests[@]}"; do
		read -r -a w <<<"${runs[$t,with]}"
		read -r -a wo <<<"${runs[$t,without]}"
		ratios=$(for i in "${!w[@]}"; do awk -v a="${w[$i]}" -v b="${wo[$i]}" 'BEGIN { printf "%.4f\n", a / b }'; done)
		printf '%-56s %12.1f %12.1f %8.3f %18s\n' "${title[$t]}" \
			"$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${wo[@]}" | median)" \
			"$(printf '%s\n' "$ratios" | median)" \
			"$(printf '%s\n' "$ratios" | minmax -)"
	done
	echo "(ratio: median of the per-pair ratios with/without; 1.000 means no measurable cost)"
	echo "connection path in the kernel's accounts, per connection (pgbench -C -c 1, $((fault_conns + 1)) connections a run):"
	for k in faults cpu; do
		read -r -a w <<<"${runs[$k,with]}"
		read -r -a wo <<<"${runs[$k,without]}"
		diffs=$(for i in "${!w[@]}"; do awk -v a="${w[$i]}" -v b="${wo[$i]}" 'BEGIN { printf "%.4f\n", a - b }'; done)
		printf '  %-26s with %9.3f, without %9.3f: %+.3f (median of the per-pair differences; min-max %s)\n' \
			"$([ $k = faults ] && echo 'minor page faults' || echo 'backend CPU ms')" \
			"$(printf '%s\n' "${w[@]}" | median)" "$(printf '%s\n' "${wo[@]}" | median)" \
			"$(printf '%s\n' "$diffs" | median)" \
			"$(printf '%s\n' "$diffs" | minmax ' ')"
	done
}
