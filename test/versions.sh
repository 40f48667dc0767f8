#!/usr/bin/env bash
# The whole test suite on the PostgreSQL majors the host does not run, each
# in a Debian chroot with that major's real server packages:
#   17  trixie
#   18  sid
#   19  sid with experimental
# In each: the .deb is built from debian/ (pg_buildext, one binary package
# per major), installed with dpkg -i, and test/check.sh runs against the
# installed package, pg_regress and TAP reported apart.  15 is the host's
# (test/check.sh); 16 is in no suite these machines reach and is built by
# reading its source only (see the README).
#
# The chroots (trixie; sid, shared by 18 and 19) are made with debootstrap
# from the mirror the host's apt sources name, and kept in $PGPS_CHROOTS
# (default /var/cache/pgpool_stats/chroots) between runs; one that is
# missing or half-made is made again, and a major's packages are installed
# in it when they are not there yet.  No package starts a service in them (a
# policy-rc.d, and no main cluster); /proc and /dev/shm are mounted for the
# run and unmounted on exit, even on failure.  Nothing is left running.
#
#   bash test/versions.sh [17 18 19]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

chroots=${PGPS_CHROOTS:-/var/cache/pgpool_stats/chroots}
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(17 18 19)

[ "$(id -u)" -eq 0 ] || { echo "versions.sh makes chroots: run it as root" >&2; exit 1; }
command -v debootstrap >/dev/null 2>&1 || {
	pgps_log "installing debootstrap"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}

# The Debian mirror of the host's apt sources
mirror=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
	/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
	| head -n1 | awk '{ print $2 }' || true)
mirror=${mirror:-http://deb.debian.org/debian}

suite_of() { case $1 in 17) echo trixie ;; 18 | 19) echo sid ;; *) return 1 ;; esac; }

# The packages a chroot needs: the server and its headers, the packaging
# tools, and what test/check.sh would install (its real clients included)
packages_of()
{
	local from=
	# experimental is never chosen by default: 19 and its libpq by name
	[ "$1" = 19 ] && from=/experimental
	echo "postgresql-$1$from postgresql-client-$1$from postgresql-server-dev-$1$from" \
		"libpq-dev$from libpq5$from postgresql-server-dev-all" \
		"build-essential debhelper fakeroot libkrb5-dev libipc-run-perl ca-certificates" \
		"python3-psycopg python3-psycopg-pool python3-psycopg2 python3-sqlalchemy pgbouncer nodejs npm"
}

mounted=()
unmount_all()
{
	local m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount -l "$m" 2>/dev/null || true
	done
	mounted=()
}
trap unmount_all EXIT

mount_in()
{
	local root=$1
	mount -t proc proc "$root/proc" && mounted+=("$root/proc")
	mkdir -p "$root/dev/shm"
	mount -t tmpfs -o mode=1777 shm "$root/dev/shm" && mounted+=("$root/dev/shm")
	mkdir -p "$root/dev/pts"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" && mounted+=("$root/dev/pts")
}

in_chroot()
{
	local root=$1
	shift
	chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "$@"
}

# The certificate authorities the host trusts on its own (a proxy's, say)
# are the chroot's too, for npm
trust_host_cas()
{
	local root=$1
	compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null || return 0
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	in_chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
}

# Make the chroot of a major's suite if it is missing (debootstrap into a
# new directory, then its apt sources and no services; renamed into place
# once whole), and install the major's packages in it if they are not
# there yet.  18 and 19 share the sid chroot.
make_chroot()
{
	local major=$1 suite root new
	suite=$(suite_of "$major")
	root=$chroots/$suite
	mkdir -p "$chroots"
	if [ ! -f "$root/.pgps-debootstrapped" ]; then
		new=$root.new
		rm -rf "$new"
		pgps_log "making the $suite chroot (debootstrap from $mirror)"
		debootstrap --variant=minbase "$suite" "$new" "$mirror" >"$chroots/$suite.debootstrap.log" 2>&1 \
			|| { tail -n 20 "$chroots/$suite.debootstrap.log"; return 1; }
		echo "deb $mirror $suite main" >"$new/etc/apt/sources.list"
		[ "$suite" != sid ] || echo "deb $mirror experimental main" >>"$new/etc/apt/sources.list"
		# suites whose Release file has expired are still what we want
		echo 'Acquire::Check-Valid-Until "false";' >"$new/etc/apt/apt.conf.d/99pgps-valid-until"
		printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
		chmod 755 "$new/usr/sbin/policy-rc.d"
		mkdir -p "$new/etc/postgresql-common"
		echo 'create_main_cluster = false' >"$new/etc/postgresql-common/createcluster.conf"
		touch "$new/.pgps-debootstrapped"
		rm -rf "$root"
		mv "$new" "$root"
	fi
	[ -f "$root/.pgps-ready-$major" ] && return 0
	pgps_log "installing PostgreSQL $major and the test tools in the $suite chroot"
	mount_in "$root" || return 1
	in_chroot "$root" apt-get update -qq || { unmount_all; return 1; }
	# shellcheck disable=SC2046
	in_chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $(packages_of "$major") >"$chroots/$suite.apt.log" 2>&1 \
		|| { tail -n 30 "$chroots/$suite.apt.log"; unmount_all; return 1; }
	unmount_all
	touch "$root/.pgps-ready-$major"
}

# Build the .deb in the chroot, install it, run the suite against it
run_major()
{
	local major=$1 root build=/build/pgpool_stats
	root=$chroots/$(suite_of "$major")
	rm -rf "$root/build"
	mkdir -p "$root/build/pgpool_stats"
	tar -C "$PGPS_ROOT" --exclude=.git --exclude=node_modules --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude=tmp_check --exclude=results -cf - . | tar -C "$root$build" -xf -
	mount_in "$root"
	trust_host_cas "$root"
	pgps_log "PostgreSQL $major: building with -Werror, then the .deb, and installing it"
	in_chroot "$root" env PG_SUPPORTED_VERSIONS="$major" sh -ec \
		"cd $build && make -s PG_CONFIG=/usr/lib/postgresql/$major/bin/pg_config PGPS_WERROR=-Werror >/build/deb.log 2>&1 \
		 && make -s clean PG_CONFIG=/usr/lib/postgresql/$major/bin/pg_config >/dev/null \
		 && pg_buildext updatecontrol && dpkg-buildpackage -us -uc -b >>/build/deb.log 2>&1 \
		 && dpkg -i /build/postgresql-$major-pgpool-stats_*.deb >/dev/null" \
		|| { tail -n 40 "$root/build/deb.log"; unmount_all; return 1; }
	pgps_log "PostgreSQL $major: the test suite against the installed package"
	local status=0
	in_chroot "$root" env PGPS_PG_MAJOR="$major" PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" \
		PGPS_INSTALLED=1 bash "$build/test/check.sh" || status=$?
	unmount_all
	return $status
}

declare -A result seconds
for major in "${majors[@]}"; do
	start=$(date +%s)
	if ! suite_of "$major" >/dev/null; then
		result[$major]="not a major this script tests"
	elif ! make_chroot "$major"; then
		result[$major]="FAILED: the chroot could not be made"
	elif run_major "$major"; then
		result[$major]=passed
	else
		result[$major]=FAILED
	fi
	seconds[$major]=$(($(date +%s) - start))
done

echo
printf '%-10s %-9s %-8s %s\n' PostgreSQL suite seconds result
status=0
for major in "${majors[@]}"; do
	printf '%-10s %-9s %-8s %s\n' "$major" "$(suite_of "$major" 2>/dev/null || echo -)" \
		"${seconds[$major]}" "${result[$major]}"
	[ "${result[$major]}" = passed ] || status=1
done
exit $status
