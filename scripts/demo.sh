#!/usr/bin/env bash
# `npm run demo`: sets up what is missing, then runs the demo competition (scripts/demo.ts).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/ensure-tools.sh
exec node dist/scripts/demo.js "$@"
