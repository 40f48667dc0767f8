# Shell helpers of the pgpool_stats scripts (check, demo, bench): install what
# is missing, build, and run scratch clusters as the postgres user (the
# server refuses to run as root).  Sourced, not run.

PGPS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGPS_PG_MAJOR=${PGPS_PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-pg_config}
# the project's own builds make every warning a failure (see the Makefile)
export PGPS_WERROR=-Werror

pgps_log() { printf '== %s\n' "$*" >&2; }

# Install the build and test dependencies that are missing (Debian).
pgps_install_deps()
{
	local need=()
	[ -x "/usr/lib/postgresql/$PGPS_PG_MAJOR/bin/postgres" ] || need+=("postgresql-$PGPS_PG_MAJOR")
	command -v pgbench >/dev/null 2>&1 || need+=("postgresql-client-$PGPS_PG_MAJOR")
	# pgxs.mk alone is no sign: the client package ships it too
	[ -f "/usr/include/postgresql/$PGPS_PG_MAJOR/server/postgres.h" ] || need+=("postgresql-server-dev-$PGPS_PG_MAJOR")
	[ -f /usr/include/krb5.h ] || [ -f /usr/include/krb5/krb5.h ] || need+=(libkrb5-dev)
	perl -MIPC::Run -e 1 >/dev/null 2>&1 || need+=(libipc-run-perl)
	# the real-client tests: Debian's Python with psycopg 3 and its pool
	/usr/bin/python3 -c 'import psycopg, psycopg_pool, psycopg2, sqlalchemy' >/dev/null 2>&1 \
		|| need+=(python3-psycopg python3-psycopg-pool python3-psycopg2 python3-sqlalchemy)
	[ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
	command -v node >/dev/null 2>&1 || need+=(nodejs)
	command -v npm >/dev/null 2>&1 || need+=(npm)
	command -v make >/dev/null 2>&1 || need+=(make)
	command -v gcc >/dev/null 2>&1 || need+=(gcc)
	# the monitoring test: the dashboard's schema check and the exporter's
	# queries file
	/usr/bin/python3 -c 'import jsonschema, yaml' >/dev/null 2>&1 || need+=(python3-jsonschema python3-yaml)
	# the monitoring test's servers: Debian's, where the release has the
	# versions monitoring/ is written for (bookworm: postgres_exporter 0.11,
	# Prometheus 2.42); elsewhere (the chroots of other majors) it skips
	local services=()
	if grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
		[ -x /usr/bin/prometheus-postgres-exporter ] || services+=(prometheus-postgres-exporter)
		[ -x /usr/bin/prometheus ] || services+=(prometheus)
	fi
	[ ${#need[@]} -eq 0 ] && [ ${#services[@]} -eq 0 ] && return 0

	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	if [ ${#need[@]} -gt 0 ]; then
		pgps_log "installing ${need[*]}"
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	[ ${#services[@]} -gt 0 ] && pgps_install_services "${services[@]}"
	return 0
}

# Install packages of servers that the tests start themselves, on loopback
# ports of their own: their own services must not start (on all addresses,
# at every boot), so a policy-rc.d refuses them during the install, and
# what the install enabled is disabled.  Nothing recommended comes along
# (prometheus recommends its node exporter, another server).
pgps_install_services()
{
	local sudo= policy=/usr/sbin/policy-rc.d mine=0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	pgps_log "installing $* (their services neither started nor enabled)"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# pgpool_stats tests: no service starts while they install packages\nexit 101\n' \
			| $sudo tee "$policy" >/dev/null
		$sudo chmod 755 "$policy"
		mine=1
	fi
	local rc=0
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
	[ $mine -eq 0 ] || $sudo rm -f "$policy"
	[ $rc -eq 0 ] || return $rc
	local s
	for s in "$@"; do
		if command -v systemctl >/dev/null 2>&1; then
			$sudo systemctl disable --now "$s" >/dev/null 2>&1 || true
		fi
		if command -v update-rc.d >/dev/null 2>&1; then
			$sudo update-rc.d "$s" disable >/dev/null 2>&1 || true
		fi
	done
}

# The real-client tests' npm packages (node-postgres), from the lock file
pgps_install_node_clients()
{
	[ -d "$PGPS_ROOT/test/clients/node_modules/pg" ] && return 0
	pgps_log "installing the test clients' npm packages"
	local out
	out=$(npm ci --prefix "$PGPS_ROOT/test/clients" --no-audit --no-fund 2>&1) \
		|| { echo "$out" | tail -n 20 >&2; return 1; }
}

# Install the build in directory $1 into the server's directories.
pgps_install_from()
{
	if [ "$(id -u)" -eq 0 ] || [ -w "$("$PG_CONFIG" --pkglibdir)" ]; then
		make -C "$1" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	else
		sudo make -C "$1" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	fi
}

# Build with -Werror and install into the server's directories.
pgps_build_install()
{
	pgps_log "building and installing pgpool_stats"
	make -C "$PGPS_ROOT" -s PG_CONFIG="$PG_CONFIG" >/dev/null
	pgps_install_from "$PGPS_ROOT"
}

# Copy the source tree, without build outputs, into $1, owned by the cluster
# owner: the test suites write results there and start servers.
pgps_copy_tree()
{
	tar -C "$PGPS_ROOT" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . \
		| pgps_as_pg tar -C "$1" -xf -
}

# Run a command as the user that owns the scratch clusters: postgres when
# we are root, ourselves otherwise.
pgps_as_pg()
{
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env PATH="$PATH" "$@"
	else
		"$@"
	fi
}

# A private directory the cluster owner can write, removed by pgps_cleanup.
pgps_workdir()
{
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/pgpool_stats.XXXXXX")
	chmod 755 "$dir"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
	echo "$dir"
}

# Stop every server still running from a data directory under $1, then
# remove it: scripts leave nothing running, whatever happened.
pgps_cleanup()
{
	local dir=$1 pid
	[ -n "$dir" ] && [ -d "$dir" ] || return 0
	while IFS= read -r pid; do
		pgps_as_pg "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$(dirname "$pid")" \
			-m immediate stop >/dev/null 2>&1 || true
	done < <(find "$dir" -name postmaster.pid 2>/dev/null)
	rm -rf "$dir"
}

# Start a scratch cluster in $1/data, socket in $1, listening on loopback
# only, with the lines of $3 added to its configuration; port $2.
pgps_cluster_start()
{
	local dir=$1 port=$2 conf=${3:-}
	local bin
	bin=$("$PG_CONFIG" --bindir)
	pgps_as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
	pgps_as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
$conf
CONF
	pgps_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

pgps_cluster_stop()
{
	pgps_as_pg "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null
}
