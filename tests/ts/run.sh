#!/usr/bin/env bash
# The TypeScript side of the test suite: installs the pinned toolchain from the lockfiles,
# type-checks the generated bindings and the type-level tests, builds the example page and the
# server binary, and runs the node tests (lookups, validation, cost and validation parity with
# Rust, the API client against the served OpenAPI document and the live server, the npm
# package installed into a fresh project) and the browser tests of the example page in headless
# Chromium (alone, and against the live server). Exits non-zero on any failure.
#
#   tests/ts/run.sh
#
# Needs Node 20+, npm, cargo, and Debian's `chromium` (installed with apt-get when missing and
# running as root). Screenshots of the pages go to target/ts-artifacts/*.png. The client and
# page tests run `$SERVER_BIN` (default: the debug `server` under `$CARGO_TARGET_DIR`, or
# target/), built here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ts="$root/tests/ts"
web="$root/examples/web"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

step() { printf '\n== %s\n' "$*"; }

step "install the pinned toolchain (npm ci)"
(cd "$ts" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
tsc="$ts/node_modules/.bin/tsc"

step "tsc --strict --noEmit on generated/ts alone (no Node types, strictest options)"
"$tsc" -p "$ts/tsconfig.generated.json"

step "tsc --strict: bindings, type-level tests (@ts-expect-error) and node tests"
rm -rf "$ts/build"
"$tsc" -p "$ts/tsconfig.json"

step "tsc --strict --noEmit on the example page"
"$tsc" -p "$web/tsconfig.json"

step "vite build of the example page"
(cd "$web" && ./node_modules/.bin/vite build --logLevel warn)

if [ ! -x "$CHROMIUM" ]; then
  step "install chromium (apt-get)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: $CHROMIUM is missing; install Debian's chromium package" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi

step "cargo build -p server (the API client and page tests run the binary)"
(cd "$root" && cargo build -q -p server)
export SERVER_BIN="${SERVER_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/server}"

step "node --test (registry, parity, API client, npm package, browser)"
node --test --test-reporter=spec "$ts/build/tests/ts/src/"
