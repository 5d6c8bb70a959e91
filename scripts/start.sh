#!/usr/bin/env bash
# Quick start: installs what is missing, then runs the whole system in the foreground (Ctrl-C stops all of it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f .env ]; then
  cp .env.example .env
  echo "==> Created .env from .env.example (local trial settings with the bundled fake Calendly API)"
fi
exec node_modules/.bin/tsx scripts/dev/start-system.ts
