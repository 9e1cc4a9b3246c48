#!/usr/bin/env bash
# The test command (`npm test`): sets up what the tests need (Docker engine, Temporal CLI, base image,
# node modules, compiled code), runs every jest project in band (2 cores: the integration tests run
# real containers), lists every skipped test by name, and ends with the plain line
# "N passed, N failed[, N skipped]" (scripts/test-summary.ts), read from the results file of this run only.
# Under CI=true a skipped test that needs a real component (test/support/needs.ts) and a set-up failure
# (test-artifacts/setup-failures.txt, written by scripts/ensure-tools.sh) fail the run, named with their reason.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mkdir -p test-artifacts
results=test-artifacts/jest-results.json
setup_failures=test-artifacts/setup-failures.txt
# Nothing of an earlier run may reach the closing line.
rm -f "$results" "$setup_failures"
if ! bash scripts/ensure-tools.sh; then
  echo "the set-up failed (scripts/ensure-tools.sh, above): no test ran"
  [[ -s "$setup_failures" ]] && sed 's/^/set-up failure: /' "$setup_failures"
  echo "0 passed, 1 failed"
  exit 1
fi
# One pipe (not a process substitution), so every line of jest is out before the closing lines below.
node --experimental-vm-modules node_modules/jest/bin/jest.js --runInBand --json --outputFile="$results" "$@" 2>&1 \
  | grep --line-buffered -v -E 'ExperimentalWarning: VM Modules|--trace-warnings'
rc=${PIPESTATUS[0]}
if [[ ! -f dist/scripts/test-summary.js ]]; then
  echo "dist/scripts/test-summary.js is missing (the TypeScript build above failed?): cannot read this run's results"
  echo "0 passed, 1 failed"
  exit 1
fi
node dist/scripts/test-summary.js "$results" "$setup_failures"
summary_rc=$?
if ((rc != 0)); then exit "$rc"; fi
exit "$summary_rc"
