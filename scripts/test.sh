#!/usr/bin/env bash
# Installs what is missing, checks types and lint, then runs every test against the real Temporal dev server and
# the real PostgreSQL (the test setup starts one and creates its own database). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> Type check"
node_modules/.bin/tsc --noEmit
echo "==> Lint"
node_modules/.bin/eslint .
echo "==> Tests"
mkdir -p .data
status=0
node_modules/.bin/jest --runInBand --json --outputFile=.data/jest-results.json "$@" || status=$?
node -e '
  const r = require("./.data/jest-results.json");
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || echo "0 passed, 1 failed"
exit "$status"
