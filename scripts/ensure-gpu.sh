#!/usr/bin/env bash
# GPU hosts: makes `docker run --gpus device=N` work when this machine has an NVIDIA GPU, or says exactly
# what the operator must install. A machine without an NVIDIA GPU needs nothing (the cpu track).
#   exit 0: no NVIDIA GPU, or GPUs usable from containers; exit 3: a GPU is present but containers cannot use it.
set -uo pipefail
say() { printf '[gpu] %s\n' "$*"; }
if ! { [[ -e /dev/nvidia0 ]] || command -v nvidia-smi >/dev/null 2>&1; }; then
  say "no NVIDIA GPU on this machine: only the cpu track can run here"
  exit 0
fi
gpus="$(nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader 2>/dev/null || echo 'unknown (nvidia-smi did not answer)')"
say "NVIDIA GPU(s): ${gpus//$'\n'/; }"
runtimes="$(docker info --format '{{json .Runtimes}}' 2>/dev/null || echo '{}')"
if ! command -v nvidia-container-runtime >/dev/null 2>&1 && ! command -v nvidia-ctk >/dev/null 2>&1; then
  # Debian's own archive has no NVIDIA container toolkit; try the configured apt sources first.
  if apt-cache policy nvidia-container-toolkit 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    say "installing nvidia-container-toolkit from the configured apt sources"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nvidia-container-toolkit >/dev/null || true
  fi
fi
if command -v nvidia-ctk >/dev/null 2>&1 && ! grep -q nvidia <<<"$runtimes"; then
  say "registering the NVIDIA runtime with Docker (nvidia-ctk runtime configure) and restarting dockerd"
  nvidia-ctk runtime configure --runtime=docker >/dev/null
  pkill -x dockerd; sleep 2
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
fi
if docker run --rm --gpus device=0 "$(cat "$(dirname "$0")/../docker/base/TAG")" true >/dev/null 2>&1; then
  say "containers can use the GPUs (docker run --gpus device=N works)"
  exit 0
fi
cat >&2 <<'MSG'
[gpu] An NVIDIA GPU is present, but Docker cannot give it to containers (`docker run --gpus device=0` failed).
[gpu] Install the NVIDIA driver and the NVIDIA Container Toolkit on this host, then register the runtime:
[gpu]   1. the NVIDIA driver for the GPU (nvidia-smi must list it);
[gpu]   2. the package nvidia-container-toolkit from NVIDIA's apt repository (see NVIDIA's Container Toolkit
[gpu]      installation guide for Debian/Ubuntu);
[gpu]   3. sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker
[gpu]   4. check: docker run --rm --gpus device=0 challenge/base:bookworm-python3 true
[gpu] Then run this script again (scripts/ensure-gpu.sh). GPU-track host workers (workers/gpu-host.js) refuse to start until it passes.
MSG
exit 3
