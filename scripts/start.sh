#!/usr/bin/env bash
# Quick start: installs what is missing, then runs the whole system in the foreground (Ctrl-C stops all of it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f .env ]; then
  cp .env.example .env
  echo "==> Created .env from .env.example (local trial settings with the bundled fake Calendly API)"
fi
# One process (no tsx wrapper between), so that the PID seen in `ps` is the supervisor: killing or signalling it
# stops the system (see scripts/dev/start-system.ts).
exec node --import tsx scripts/dev/start-system.ts
