#!/usr/bin/env bash
# Builds the base image that sample submissions start FROM. No container registry is reachable,
# so the root file system comes from Debian's packages (debootstrap) and is imported under a stable tag.
# Reused when the tag already exists; CHALLENGE_REBUILD_BASE=1 forces a rebuild.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tag="$(cat "$here/docker/base/TAG")"
packages="$(grep -v '^#' "$here/docker/base/packages.txt" | tr '\n' ',' | sed 's/,$//')"

if [[ "${CHALLENGE_REBUILD_BASE:-0}" != "1" ]] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag: present"
  exit 0
fi

mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
mirror="${mirror:-http://deb.debian.org/debian}"
command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

work="$(mktemp -d /tmp/challenge-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
echo "base image $tag: debootstrap bookworm from $mirror (about a minute)"
debootstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  echo "debootstrap failed; last lines of its log:" >&2; tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
tar -C "$work/root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change 'CMD ["python3"]' - "$tag" >/dev/null
echo "base image $tag: built"
