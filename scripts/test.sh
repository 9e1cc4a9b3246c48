#!/usr/bin/env bash
# The test command (`npm test`): sets up what the tests need (Docker engine, Temporal CLI, base image,
# node modules, compiled code), runs every jest project in band (2 cores: the integration tests run
# real containers), and ends with the plain line "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/ensure-tools.sh || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p test-artifacts
# One pipe (not a process substitution), so every line of jest is out before the closing line below.
node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand --json --outputFile=test-artifacts/jest-results.json "$@" 2>&1 \
  | grep --line-buffered -v -E 'ExperimentalWarning: VM Modules|--trace-warnings'
rc=${PIPESTATUS[0]}
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-artifacts/jest-results.json", "utf8"));
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' 2>/dev/null || echo "0 passed, 1 failed"
exit $rc
