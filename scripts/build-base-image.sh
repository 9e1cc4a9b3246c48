#!/usr/bin/env bash
# Builds the images that submissions start FROM. No container registry is reachable, so:
#   1. challenge/base-root:<tag>  Debian bookworm with python3 (debootstrap from Debian's packages, imported);
#   2. challenge/base:<tag>       that root plus the operator's trusted CA bundle (docker/base/Dockerfile),
#                                 rebuilt in seconds whenever the bundle changes;
#   3. the LLM base image         PyTorch + transformers + peft and the project's base model
#                                 (docker/llm-base; scripts/build-llm-base-image.sh), unless --no-llm.
# CHALLENGE_CA_BUNDLE: the PEM bundle builds and containers trust (default: the host's system bundle).
# CHALLENGE_REBUILD_BASE=1 forces step 1 again. Each step is reused when its image is current.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
tag="$(cat "$here/docker/base/TAG")"
root_tag="${tag/challenge\/base:/challenge/base-root:}"
packages="$(grep -v '^#' "$here/docker/base/packages.txt" | tr '\n' ',' | sed 's/,$//')"
ca_bundle="${CHALLENGE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[[ -r "$ca_bundle" ]] || { echo "CHALLENGE_CA_BUNDLE=$ca_bundle: no such readable file; point it at a PEM bundle of the CAs builds must trust" >&2; exit 2; }
grep -q 'BEGIN CERTIFICATE' "$ca_bundle" || { echo "CHALLENGE_CA_BUNDLE=$ca_bundle holds no PEM certificate (-----BEGIN CERTIFICATE-----)" >&2; exit 2; }
ca_digest="$(sha256sum "$ca_bundle" | cut -c1-64)"
label() { docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# An image built before the CA layer existed is a plain root file system: keep it as the root.
if ! docker image inspect "$root_tag" >/dev/null 2>&1 && docker image inspect "$tag" >/dev/null 2>&1 \
   && [[ -z "$(label "$tag" challenge.ca-digest | sed 's/<no value>//')" && "${CHALLENGE_REBUILD_BASE:-0}" != "1" ]]; then
  docker tag "$tag" "$root_tag"
fi

if [[ "${CHALLENGE_REBUILD_BASE:-0}" == "1" ]] || ! docker image inspect "$root_tag" >/dev/null 2>&1; then
  mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  work="$(mktemp -d /tmp/challenge-base.XXXXXX)"
  trap 'rm -rf "$work"' EXIT
  echo "base image $root_tag: debootstrap bookworm from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    echo "debootstrap failed; last lines of its log:" >&2; tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*
  tar -C "$work/root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change 'CMD ["python3"]' - "$root_tag" >/dev/null
  echo "base image $root_tag: built"
fi

root_id="$(docker image inspect --format '{{.Id}}' "$root_tag")"
if [[ "$(label "$tag" challenge.ca-digest)" == "$ca_digest" && "$(label "$tag" challenge.root-id)" == "$root_id" ]]; then
  echo "base image $tag: present (CA bundle $ca_bundle)"
else
  ctx="$(mktemp -d /tmp/challenge-base-ca.XXXXXX)"
  cp "$ca_bundle" "$ctx/ca-bundle.crt"
  cp "$here/docker/base/Dockerfile" "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build --build-arg "ROOT_IMAGE=$root_tag" --build-arg "CA_DIGEST=$ca_digest" \
    --label "challenge.root-id=$root_id" -t "$tag" "$ctx" >"$ctx/build.log" 2>&1 || {
    echo "building $tag failed:" >&2; tail -n 20 "$ctx/build.log" >&2; exit 1; }
  rm -rf "$ctx"
  echo "base image $tag: built with the CA bundle $ca_bundle"
fi

if [[ "${1:-}" != "--no-llm" ]]; then bash "$here/scripts/build-llm-base-image.sh"; fi
