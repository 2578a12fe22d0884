#!/usr/bin/env bash
# Builds a PostgreSQL image from Debian packages, without any container
# registry: debootstrap a minimal bookworm root filesystem with postgresql-15,
# add an entrypoint compatible with the official image, `docker import` it.
#
# The Debian mirror is read from this machine's apt sources at run time.
# Does nothing when the image exists already.
#
#   scripts/build-postgres-image.sh [IMAGE]     (default: $POSTGRES_IMAGE or local/postgres:15)
set -Eeuo pipefail

image="${1:-${POSTGRES_IMAGE:-local/postgres:15}}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The recipe's fingerprint is stored as a label, so a changed entrypoint or
# script rebuilds the image while an up-to-date one is left alone.
recipe="$(cat "$here/pg-entrypoint.sh" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
existing="$(docker image inspect --format '{{ index .Config.Labels "access-reviews.recipe" }}' "$image" 2>/dev/null || true)"
if [ "$existing" = "$recipe" ]; then
	echo "image $image is up to date; nothing to build"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "error: debootstrap needs root; run this script as root" >&2
	exit 1
fi

if ! command -v debootstrap >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The first Debian archive URI in the apt sources (deb822 or one-line format),
# skipping the security archive.
mirror_from_apt_sources() {
	local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
	local existing=()
	for f in "${files[@]}"; do [ -f "$f" ] && existing+=("$f"); done
	[ "${#existing[@]}" -gt 0 ] || return 0
	awk '
		/^URIs:/ { for (i = 2; i <= NF; i++) print $i }
		$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }
	' "${existing[@]}" | awk '!/-security/ && tolower($0) ~ /debian/' | head -n 1
}

mirror="${DEBIAN_MIRROR:-$(mirror_from_apt_sources)}"
if [ -z "$mirror" ]; then
	echo "error: no Debian mirror found in the apt sources; set DEBIAN_MIRROR" >&2
	exit 1
fi
echo "building $image from $mirror"

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase --include=postgresql-15 bookworm "$rootfs" "$mirror" >/dev/null

# Keep the image lean: no apt lists/caches, docs or extra locales.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
	"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
# debootstrap's package install created a cluster we do not use.
rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15

install -m 0755 "$here/pg-entrypoint.sh" "$rootfs/usr/local/bin/docker-entrypoint.sh"

tar -C "$rootfs" -c . | docker import \
	--change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
	--change 'CMD ["postgres"]' \
	--change 'ENV PGDATA=/var/lib/postgresql/data' \
	--change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'ENV LANG=C.UTF-8' \
	--change 'EXPOSE 5432/tcp' \
	--change "LABEL access-reviews.recipe=$recipe" \
	- "$image" >/dev/null
echo "built $image"
