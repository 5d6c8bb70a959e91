#!/usr/bin/env bash
# Installs what is missing, and nothing else: npm packages, then the Temporal CLI (dev server + Web UI).
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

bash scripts/install-temporal.sh

# The dashboard page's script, from client/ (a fraction of a second).
node_modules/.bin/tsx scripts/dev/bundle-dashboard.ts >/dev/null
