#!/usr/bin/env bash
# Installs what is missing, checks types and lint, then runs every test against the real Temporal dev server and
# the real PostgreSQL (the test setup starts one and creates its own database). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The dashboard test drives Debian's Chromium through playwright-core, which never downloads a browser.
if [ ! -e /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "==> Installing Chromium for the dashboard test (apt-get install chromium)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "==> Chromium is missing; the dashboard test needs it: sudo apt-get install -y chromium" >&2
  fi
fi

# Named files (`npm test -- test/x.test.ts`) skip the whole-project checks, which `npm test` alone (CI) runs.
if [ "$#" -eq 0 ]; then
  echo "==> Type check"
  node_modules/.bin/tsc --noEmit
  node_modules/.bin/tsc --noEmit -p client
  echo "==> Lint"
  node_modules/.bin/eslint .
  echo "==> Architecture (import rules in .dependency-cruiser.cjs)"
  node_modules/.bin/depcruise src workflows activities scripts fake-calendly migrations --config .dependency-cruiser.cjs
fi
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
