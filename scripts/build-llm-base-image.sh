#!/usr/bin/env bash
# Builds challenge/llm-base (docker/llm-base): PyTorch, transformers and peft at pinned versions and the
# competition's base model, on top of challenge/base (which carries the CA bundle pip's HTTPS needs).
# About 5.5 GB; built once per machine and reused: Docker's layer cache keeps it, and a submission's
# Dockerfile and Dockerfile.train both start FROM it, so neither downloads torch again.
# Rebuilt only when docker/llm-base or the base image changes (label challenge.recipe-digest).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$here/docker/llm-base"
tag="$(cat "$dir/TAG")"
base="$(cat "$here/docker/base/TAG")"
base_id="$(docker image inspect --format '{{.Id}}' "$base")"
recipe="$( (cd "$dir" && cat Dockerfile requirements.txt make_base_model.py requirements.lock 2>/dev/null); echo "$base_id")"
digest="$(printf '%s' "$recipe" | sha256sum | cut -c1-64)"
current="$(docker image inspect --format '{{ index .Config.Labels "challenge.recipe-digest" }}' "$tag" 2>/dev/null || true)"
if [[ "$current" == "$digest" ]]; then
  echo "LLM base image $tag: present"
  exit 0
fi
echo "LLM base image $tag: building (PyTorch stack from PyPI and the base model; several minutes the first time)"
started=$(date +%s)
log="$(mktemp /tmp/challenge-llm-base.XXXXXX.log)"
if ! DOCKER_BUILDKIT=0 docker build --build-arg "BASE_IMAGE=$base" --label "challenge.recipe-digest=$digest" -t "$tag" "$dir" >"$log" 2>&1; then
  echo "building $tag failed; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "LLM base image $tag: built in $(( $(date +%s) - started )) s, $(( size / 1000000 )) MB ($(grep -E '"weightsSha256"' -o "$log" >/dev/null && grep -oE '"weightsSha256": "[0-9a-f]{12}' "$log" | head -1 | sed 's/.*"\([0-9a-f]*\)$/base model weights sha256 \1…/'))"
