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

# By the lockfile's content, not its date: a fresh checkout (a clone, a git worktree) dates every file now.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.installed-lock-sha256 2>/dev/null)" != "$lock_hash" ]; then
  echo "==> Installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.installed-lock-sha256
fi

bash scripts/install-temporal.sh

# The dashboard page's script, from client/ (a fraction of a second).
node_modules/.bin/tsx scripts/dev/bundle-dashboard.ts >/dev/null
