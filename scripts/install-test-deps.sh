#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine, skipping what is already there:
# PostgreSQL 15 (a throwaway server per test run), Chromium (the browser test) and promtool
# (checks generated/prometheus/alerts.yml and runs tests/prometheus/alerts.test.yml).
# npm packages come from tests/ts/package-lock.json (tests/ts/run.sh), Python ones from
# tests/schema/requirements.txt (tests/schema/check.sh).
set -euo pipefail
missing=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
need_promtool=false
command -v promtool >/dev/null 2>&1 || need_promtool=true
if [ ${#missing[@]} -gt 0 ] || $need_promtool; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian ships promtool in the prometheus package. Only that one binary is taken from it: the
# package would also install the server, its web assets and a service that starts at once.
if $need_promtool; then
  echo "installing: promtool (from Debian's prometheus package)"
  tmp="$(mktemp -d)"
  chown _apt "$tmp" 2>/dev/null || true # apt downloads as its own user
  (cd "$tmp" && apt-get download -qq prometheus && dpkg-deb -x prometheus_*.deb root)
  install -m 0755 "$tmp/root/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi
