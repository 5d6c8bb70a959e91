#!/usr/bin/env bash
# Installs what is missing, then runs every test against the real Temporal dev server and the real PostgreSQL (the
# test setup starts the server and creates a database for each jest worker), test files side by side (jest.config.js
# sets the workers), with the type checks and lint beside them. Extra arguments go to jest. `--fast` first
# (`npm run test:fast`): only the fast tier, which starts no Temporal server.
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

tier=()
if [ "${1:-}" = "--fast" ]; then
  shift
  # Last: it takes every word after it as a project name.
  tier=(--selectProjects fast)
fi

# Named files (`npm test -- test/x.test.ts`) and the fast tier skip the whole-project checks, which `npm test` alone
# (CI) runs: beside the tests, which spend much of their time waiting on timers and servers, two at a time, each
# single-threaded (the type checks beside lint and the import rules). Their output is shown after the tests, under
# its heading, and a failed check counts as one failure in the last line.
checks=""
if [ "$#" -eq 0 ] && [ "${#tier[@]}" -eq 0 ]; then
  checks=$(mktemp -d)
  (
    set -e
    echo "==> Type check"
    node_modules/.bin/tsc --noEmit
    node_modules/.bin/tsc --noEmit -p client
  ) >"$checks/types" 2>&1 &
  types=$!
  (
    set -e
    echo "==> Lint"
    node_modules/.bin/eslint .
    echo "==> Architecture (import rules in .dependency-cruiser.cjs)"
    node_modules/.bin/depcruise src workflows activities scripts fake-calendly migrations --config .dependency-cruiser.cjs
  ) >"$checks/rules" 2>&1 &
  rules=$!
fi
echo "==> Tests"
mkdir -p .data
status=0
node_modules/.bin/jest --json --outputFile=.data/jest-results.json "$@" "${tier[@]}" || status=$?
checks_failed=0
if [ -n "$checks" ]; then
  wait "$types" || checks_failed=1
  cat "$checks/types"
  wait "$rules" || checks_failed=1
  cat "$checks/rules"
  rm -rf "$checks"
  [ "$checks_failed" -eq 0 ] || status=1
fi
CHECKS_FAILED=$checks_failed node -e '
  const r = require("./.data/jest-results.json");
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites + Number(process.env.CHECKS_FAILED);
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || echo "0 passed, 1 failed"
exit "$status"
