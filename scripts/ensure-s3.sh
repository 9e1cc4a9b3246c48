#!/usr/bin/env bash
# An S3-compatible server for the tests: moto's server (a Python package, in its own virtualenv so the
# system Python stays untouched), started on 127.0.0.1:${CHALLENGE_S3_PORT:-59000} in the background
# and reused while it runs. Prints the endpoint URL on its last stdout line.
# Idempotent: a second run only checks that the server answers.
set -euo pipefail
say() { printf '[s3] %s\n' "$*" >&2; }

port="${CHALLENGE_S3_PORT:-59000}"
endpoint="http://127.0.0.1:${port}"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/challenge/moto"
log="$venv/moto-server-${port}.log"

# An S3 ListBuckets answer, so that some other service on the port is not taken for the S3 server.
answers() { curl -s --max-time 2 "$endpoint/" 2>/dev/null | grep -q ListAllMyBucketsResult; }

if answers; then
  say "reusing the S3 server at $endpoint"
  echo "$endpoint"
  exit 0
fi

if [[ ! -x "$venv/bin/moto_server" ]]; then
  say "installing moto's server into $venv (about a minute the first time)"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' >&2
fi

say "starting moto_server on $endpoint (log: $log)"
# setsid: the server outlives this script and the test process that ran it, so later runs reuse it.
setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 </dev/null &
for _ in $(seq 1 100); do
  answers && break
  sleep 0.2
done
if ! answers; then
  say "moto_server did not answer on $endpoint within 20 s; is port $port taken (set CHALLENGE_S3_PORT)? Last lines of $log:"
  tail -n 20 "$log" >&2 || true
  exit 1
fi
echo "$endpoint"
