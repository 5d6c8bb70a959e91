#!/usr/bin/env bash
# Puts the Temporal CLI at .tools/bin/temporal. Uses TEMPORAL_BIN or a `temporal` on PATH when given; otherwise
# builds the pinned version from its Go module (the CLI embeds the dev server and the Web UI), and keeps a copy in
# the user's cache, so that another checkout (a fresh clone, a worktree) copies it instead of building it again.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v1.5.1 # embeds Temporal server 1.29.1 and UI 2.42.1; later tags cannot be built with `go install pkg@version`
target=.tools/bin/temporal
cached="${XDG_CACHE_HOME:-$HOME/.cache}/calendly-bookings/temporal-$VERSION"
mkdir -p .tools/bin

if [ -n "${TEMPORAL_BIN:-}" ]; then
  [ -x "$TEMPORAL_BIN" ] || { echo "TEMPORAL_BIN=$TEMPORAL_BIN is not an executable file." >&2; exit 1; }
  ln -sf "$(realpath "$TEMPORAL_BIN")" "$target"
elif [ -x "$target" ]; then
  : # already installed
elif command -v temporal >/dev/null 2>&1; then
  ln -sf "$(command -v temporal)" "$target"
elif [ -x "$cached" ]; then
  echo "==> Copying the Temporal CLI $VERSION built before, from $cached"
  cp "$cached" "$target"
else
  if ! command -v go >/dev/null 2>&1; then
    echo "The Temporal CLI is missing and Go (>= 1.25) is not installed to build it." >&2
    echo "Install Go, or set TEMPORAL_BIN to an existing temporal binary, then run this again." >&2
    exit 1
  fi
  echo "==> Building the Temporal CLI $VERSION from its Go module into $target"
  echo "    The first build takes several minutes (about 3 on 2 cores); later runs reuse Go's cache."
  started=$(date +%s)
  # -v names each package as it is compiled: count them to show progress without flooding the terminal, and print
  # every other line (go's messages, compile errors) as it is.
  GOBIN="$PWD/.tools/bin" go install -v "github.com/temporalio/cli/cmd/temporal@$VERSION" 2>&1 |
    awk -v started="$started" '
      function elapsed(  now) { "date +%s" | getline now; close("date +%s"); return now - started }
      /^go: downloading/ { downloads++; if (downloads % 25 == 0) printf "    ... %d modules downloaded (%ds)\n", downloads, elapsed(); next }
      / / { print "    " $0; next }  # package paths have no spaces; go messages and compile errors do
      { compiled++; if (compiled % 200 == 0) printf "    ... %d packages compiled (%ds)\n", compiled, elapsed(); fflush() }
      END { printf "    %d modules downloaded, %d packages compiled\n", downloads, compiled }'
  [ -x "$target" ] || { echo "Building the Temporal CLI failed (see the output above)." >&2; exit 1; }
  echo "    Built in $(( $(date +%s) - started )) s"
  # Best effort: without a writable cache, the next checkout builds it again (from Go's cache: seconds).
  { mkdir -p "$(dirname "$cached")" && cp "$target" "$cached.partial" && mv "$cached.partial" "$cached"; } 2>/dev/null || true
fi
echo "==> Temporal CLI: $("$target" --version)"
