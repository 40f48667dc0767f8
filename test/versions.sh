#!/usr/bin/env bash
# The whole test suite on the PostgreSQL majors the host does not run, each
# in a Debian chroot with that major's real server packages:
#   17  trixie
#   18  sid
#   19  sid with experimental
# In each: the C code is built with -Werror, the .deb is built from debian/
# (pg_buildext, one binary package per major) and installed with dpkg -i,
# and test/check.sh runs against the installed package, pg_regress and TAP
# reported apart (the package carrying monitoring/ in its examples
# checked first).  15 is the host's (test/check.sh); 16 is in no suite these
# machines reach and is not built or tested here (see the README).
#
# The chroots (trixie; sid, shared by 18 and 19) are made with debootstrap
# from the mirror the host's apt sources name, and kept in $PGPS_CHROOTS
# (default /var/cache/pgpool_stats/chroots) between runs; one that is
# missing or half-made is made again.  Each run brings a chroot's packages
# up to date (apt-get update, then the packages installed or upgraded),
# after finishing any install an earlier run left half-done.  No package
# starts a service in them (a policy-rc.d, and no main cluster); /proc,
# /dev/shm and /dev/pts are mounted for the run and unmounted on exit, even
# on failure.  One run at a time (a lock in $PGPS_CHROOTS).  Nothing is
# left running.
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

mkdir -p "$chroots"
exec 9>"$chroots/.lock"
flock 9

# The Debian mirror of the host's apt sources (deb822 or one-line, options
# in brackets allowed); deb.debian.org when none is named
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list 2>/dev/null \
	| sed -nE 's#^(URIs:|deb)( +\[[^]]*\])? +(https?://[^ ]+/debian)/?( .*)?$#\3#p' \
	| head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

suite_of() { case $1 in 17) echo trixie ;; 18 | 19) echo sid ;; *) return 1 ;; esac; }

# The packages a chroot needs for a major: the server and its headers, the
# packaging tools, and what test/check.sh would install (its real clients
# included)
packages_of()
{
	local from=
	# experimental is never chosen by default: 19 and its libpq by name
	[ "$1" != 19 ] || from=/experimental
	echo "postgresql-$1$from postgresql-client-$1$from postgresql-server-dev-$1$from" \
		"libpq-dev$from libpq5$from postgresql-server-dev-all" \
		"build-essential debhelper fakeroot libkrb5-dev libipc-run-perl ca-certificates" \
		"python3-psycopg python3-psycopg-pool python3-psycopg2 python3-sqlalchemy pgbouncer nodejs npm"
}

mounted=()
unmount_all()
{
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[i]}" 2>/dev/null || true
	done
	mounted=()
}
# servers a test left in a chroot go with it: stop whatever runs from it
stop_in_chroots()
{
	local p root
	for p in /proc/[0-9]*; do
		root=$(readlink "$p/root" 2>/dev/null) || continue
		case $root in "$chroots"/*) kill -9 "${p#/proc/}" 2>/dev/null || true ;; esac
	done
}
trap 'stop_in_chroots; unmount_all' EXIT

# Mount /proc, /dev/shm and /dev/pts in a chroot, each checked
mount_in()
{
	local root=$1
	mountpoint -q "$root/proc" || { mount -t proc proc "$root/proc" && mounted+=("$root/proc"); } || return 1
	mkdir -p "$root/dev/shm" "$root/dev/pts" || return 1
	mountpoint -q "$root/dev/shm" \
		|| { mount -t tmpfs -o mode=1777 shm "$root/dev/shm" && mounted+=("$root/dev/shm"); } || return 1
	mountpoint -q "$root/dev/pts" \
		|| { mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" && mounted+=("$root/dev/pts"); } \
		|| return 1
}

in_chroot()
{
	local root=$1
	shift
	chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
		${http_proxy:+http_proxy=$http_proxy} ${https_proxy:+https_proxy=$https_proxy} "$@"
}

# The certificate authorities the host trusts on its own (a proxy's, say)
# are the chroot's too, for npm; its name servers too
host_settings()
{
	local root=$1
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null || return 0
	mkdir -p "$root/usr/local/share/ca-certificates" || return 1
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" || return 1
	in_chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
}

# Make the chroot of a major's suite if it is missing: debootstrap into a
# new directory, then its apt sources and no services, renamed into place
# once whole.  18 and 19 share the sid chroot.
make_chroot()
{
	local suite=$1 root=$chroots/$1 new=$chroots/$1.new
	[ -f "$root/.pgps-debootstrapped" ] && return 0
	rm -rf "$new" || return 1
	pgps_log "making the $suite chroot (debootstrap from $mirror)"
	debootstrap --variant=minbase "$suite" "$new" "$mirror" >"$chroots/$suite.debootstrap.log" 2>&1 \
		|| { tail -n 20 "$chroots/$suite.debootstrap.log"; return 1; }
	{
		echo "deb $mirror $suite main"
		if [ "$suite" = sid ]; then echo "deb $mirror experimental main"; fi
	} >"$new/etc/apt/sources.list" || return 1
	# suites whose Release file has expired are still what we want
	echo 'Acquire::Check-Valid-Until "false";' >"$new/etc/apt/apt.conf.d/99pgps-valid-until" || return 1
	printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d" || return 1
	chmod 755 "$new/usr/sbin/policy-rc.d" || return 1
	mkdir -p "$new/etc/postgresql-common" || return 1
	echo 'create_main_cluster = false' >"$new/etc/postgresql-common/createcluster.conf" || return 1
	touch "$new/.pgps-debootstrapped" || return 1
	rm -rf "$root" && mv "$new" "$root"
}

# Bring a chroot's packages for a major up to date: finish what an earlier
# run left half-installed, then install or upgrade the packages
update_packages()
{
	local major=$1 root=$2 log
	log=$chroots/$(suite_of "$major").apt.log
	pgps_log "PostgreSQL $major: its packages in the $(suite_of "$major") chroot, up to date"
	{
		in_chroot "$root" env DEBIAN_FRONTEND=noninteractive dpkg --configure -a \
			&& in_chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq \
			&& in_chroot "$root" apt-get update -qq \
			&& in_chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $(packages_of "$major")
	} >"$log" 2>&1 || { tail -n 30 "$log"; return 1; }
}

# Build with -Werror, build the .deb and install it, run the suite against
# it; each step's failure is the major's
run_major()
{
	local major=$1 root build=/build/pgpool_stats pg_config step
	root=$chroots/$(suite_of "$major")
	pg_config=/usr/lib/postgresql/$major/bin/pg_config
	mount_in "$root" || { echo "could not mount /proc, /dev/shm or /dev/pts in $root" >&2; return 1; }
	host_settings "$root" || return 1
	update_packages "$major" "$root" || return 1

	rm -rf "$root/build" && mkdir -p "$root$build" || return 1
	tar -C "$PGPS_ROOT" --exclude=.git --exclude=node_modules --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude=tmp_check --exclude=results -cf - . \
		| tar -C "$root$build" -xf - || { echo "could not copy the tree into $root" >&2; return 1; }

	pgps_log "PostgreSQL $major: building with -Werror, then the .deb, and installing it"
	for step in \
		"make -s PG_CONFIG=$pg_config PGPS_WERROR=-Werror && make -s clean PG_CONFIG=$pg_config" \
		"pg_buildext updatecontrol" \
		"dpkg-buildpackage -us -uc -b" \
		"dpkg -i /build/postgresql-$major-pgpool-stats_*.deb" \
		"test -f /usr/share/doc/postgresql-$major-pgpool-stats/examples/monitoring/postgres_exporter/queries.yaml"; do
		in_chroot "$root" env PG_SUPPORTED_VERSIONS="$major" sh -ec "cd $build && $step" \
			>"$root/build/step.log" 2>&1 \
			|| { echo "PostgreSQL $major: '$step' failed:" >&2; tail -n 40 "$root/build/step.log" >&2; return 1; }
	done

	pgps_log "PostgreSQL $major: the test suite against the installed package"
	in_chroot "$root" env PGPS_PG_MAJOR="$major" PG_CONFIG="$pg_config" PGPS_INSTALLED=1 \
		bash "$build/test/check.sh"
}

declare -A result seconds
for major in "${majors[@]}"; do
	start=$(date +%s)
	if ! suite_of "$major" >/dev/null; then
		result[$major]="not a major this script tests"
	elif ! make_chroot "$(suite_of "$major")"; then
		result[$major]="FAILED: the chroot could not be made"
	elif run_major "$major"; then
		result[$major]=passed
	else
		result[$major]=FAILED
	fi
	stop_in_chroots
	unmount_all
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
