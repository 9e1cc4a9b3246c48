#!/usr/bin/env bash
# Makes a Compose command available for docker/compose.yaml: the `docker compose` plugin when the Docker CLI
# has it, else Debian's docker-compose (v1.29, command `docker-compose`), installed when neither exists.
# Only `config` (render and validate the file) is needed by the tests, which works without an engine.
# Idempotent; prints the command to use on its last line.
set -euo pipefail
say() { printf '[compose] %s\n' "$*" >&2; }

if docker compose version >/dev/null 2>&1; then
  echo "docker compose"
  exit 0
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "neither 'docker compose' nor 'docker-compose' is installed and apt-get is missing: install Docker Compose by hand"
    exit 1
  fi
  say "installing docker-compose from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
say "$(docker-compose version --short 2>/dev/null || docker-compose --version)"
echo "docker-compose"
