#!/usr/bin/env bash
# The production build (what the image runs): compiles src/, workflows/, activities/, scripts/ and migrations/ to JavaScript with source maps
# (tsconfig.build.json), copies the dashboard's static files and bundles its script (client/, with esbuild), then
# bundles the workflow code once, next to the compiled worker, so the worker starts without webpack. BUILD_OUT_DIR
# (default dist) is emptied first: nothing stale.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BUILD_OUT_DIR:-dist}"
case "$out" in "" | "." | "./" | "/" | "..") echo "BUILD_OUT_DIR must be a build directory, not '$out'" >&2; exit 2 ;; esac
rm -rf "$out"
node_modules/.bin/tsc -p tsconfig.build.json --outDir "$out"
cp -R src/receiver/dashboard/public "$out/src/receiver/dashboard/public"
node_modules/.bin/tsx scripts/dev/bundle-dashboard.ts --out "$out/src/receiver/dashboard/public/dashboard.js" >/dev/null
node "$out/scripts/build-workflow-bundle.js"
