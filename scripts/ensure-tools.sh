#!/usr/bin/env bash
# Installs and starts what the project needs on this machine, reusing what is there:
#   Docker engine (Debian docker.io; dockerd started when no engine answers), debootstrap, iptables,
#   the Temporal CLI (go install …@v1.5.1, cached), docker-compose (to check docker/compose.yaml), the
#   submission base images (CA bundle; PyTorch stack and base model), the NVIDIA runtime on GPU hosts, an S3-compatible test server (moto), PostgreSQL for the results-store tests,
#   Java and Maven (the time-skipping test server), python3-venv and curl (moto), node_modules and dist/.
# Idempotent: a second run does nothing but check.
# A step that fails is reported where it happens, with "[setup] FAILED", and recorded, one line each, in
# test-artifacts/setup-failures.txt (scripts/test.sh names them after the tests; under CI=true they fail the run).
# Steps every test needs (engine, node modules, compiled code, base images) stop the set-up; a component only
# some tests need (S3, PostgreSQL, the time-skipping server, GPUs, the production cluster) is recorded and the
# set-up goes on, so the tests that need it fail (or skip, naming it) and the others still run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*"; }
failures="$root/test-artifacts/setup-failures.txt"
mkdir -p "$root/test-artifacts"
# component, what happened: said now, and recorded for the closing lines of npm test.
setup_failed() { say "FAILED: $1: $2" >&2; printf '%s: %s\n' "$1" "$2" >>"$failures"; }
trap 'setup_failed set-up "\`$BASH_COMMAND\` failed (scripts/ensure-tools.sh line $LINENO); the set-up stopped"' ERR

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  say "installing ${need_apt[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  say "starting dockerd"
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && break; sleep 1; done
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || { say "dockerd did not start; see /var/log/dockerd.log"; tail -n 20 /var/log/dockerd.log >&2; exit 1; }
fi
say "docker engine $(docker version --format '{{.Server.Version}}')"

temporal_bin="${CHALLENGE_TEMPORAL_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/challenge/bin/temporal}"
if [[ ! -x "$temporal_bin" ]]; then
  say "building the Temporal CLI v1.5.1 with go install (several minutes the first time; cached at $temporal_bin)"
  mkdir -p "$(dirname "$temporal_bin")"
  GOBIN="$(dirname "$temporal_bin")" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
fi
say "temporal CLI $("$temporal_bin" --version 2>/dev/null | head -n1)"

bash "$root/scripts/ensure-compose.sh" >/dev/null

if [[ ! -d node_modules/@temporalio/worker || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund >/dev/null
fi
# component, script: its last line said, or its failure recorded (the script says why on stderr).
component() {
  local out
  if out="$(bash "$root/scripts/$2" | tail -n1)"; then say "$1 $out"; else setup_failed "$1" "scripts/$2 failed (its output above)"; fi
}
component s3 ensure-s3.sh
component postgresql ensure-postgres.sh
component time-skipping-server ensure-test-server.sh
# crfm-helm, pinned, in its own virtual environment: the suite generator and the tests that check the suites against it.
component crfm-helm ensure-helm.sh
# The submissions' base images: Debian + the CA bundle (CHALLENGE_CA_BUNDLE), then the PyTorch stack and
# the base model (challenge/llm-base, several minutes and ~5.5 GB the first time, cached by Docker after).
bash "$root/scripts/build-base-image.sh"
bash "$root/scripts/ensure-gpu.sh" || setup_failed gpu "an NVIDIA GPU is present but containers cannot use it (scripts/ensure-gpu.sh, above): GPU tracks cannot run here until it is fixed (the cpu track can)"
say "compiling TypeScript"
npx tsc -p tsconfig.json
# The production Temporal server and its SQL schema tool (go install, about 10 min on 2 cores the first time,
# cached under ~/.cache/challenge/temporal/): the temporal-cluster test runs the pipeline on a real cluster.
node dist/scripts/temporal-cluster.js build || setup_failed temporal-cluster "temporal-server could not be built (its output above): the temporal-cluster test says why and skips"
