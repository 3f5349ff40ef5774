#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine, skipping what is already there:
# PostgreSQL 15 (a throwaway server per test run) and Chromium (the browser test).
# npm packages come from tests/ts/package-lock.json (tests/ts/run.sh), Python ones from
# tests/schema/requirements.txt (tests/schema/check.sh).
set -euo pipefail
missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
