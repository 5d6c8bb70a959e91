#!/usr/bin/env bash
# Installs what is missing, and nothing else: npm packages, Chromium (for the dashboard test), then the Temporal CLI
# (dev server + Web UI).
# Safe to run again; quick when everything is there. Migrations are applied by the start command and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Node 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> Installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

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

bash scripts/install-temporal.sh
