#!/usr/bin/env bash
# The example page's request pattern (server/examples/page_load.rs) from CLIENTS concurrent
# clients against `server --mock` on a throwaway Postgres, for SECONDS: page load, then
# Generate clicks without pause (create with an Idempotency-Key, poll the generation with the
# page's backoff, refresh history and account). Prints p50/p99 per request kind. Traffic goes
# to 127.0.0.1 only, for a bounded time.
#
#   bench/page.sh [CLIENTS] [SECONDS] [MODEL]      (default: 100 20 runware_flux_1_schnell)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
clients="${1:-100}"
secs="${2:-20}"
model="${3:-runware_flux_1_schnell}"
work="$root/target/page-bench"
rm -rf "$work" && mkdir -p "$work"
cargo build -q --release -p server --bin server --example page_load
bin="$root/target/release/server"
load="$root/target/release/examples/page_load"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
pgport=$(free_port)

pgbin=/usr/lib/postgresql/15/bin
pgdir="$work/pg"; mkdir -p "$pgdir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$pgdir" "$work"; as_pg=(runuser -u postgres --); fi
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c synchronous_commit=off" start >/dev/null
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true' EXIT

RUST_LOG=warn "$bin" --mock --listen "127.0.0.1:$port" \
  --postgres "postgres://postgres@127.0.0.1:$pgport/postgres" --pool-size 16 \
  --initial-credits 100000000 >"$work/out.log" 2>"$work/err.log" &
pid=$!
until grep -q '^listening on' "$work/out.log" 2>/dev/null; do sleep 0.01; done
token=$(sed -n 's/^dev token: //p' "$work/out.log")
echo "$clients clients, ${secs}s, model $model, server on Postgres"
printf '%-28s %8s %7s %9s %9s\n' "request" "count" "errors" "p50 ms" "p99 ms"
"$load" "http://127.0.0.1:$port" "$token" "$clients" "$secs" "$model" |
  awk -F'\t' '$1 == "clicks" { printf "Generate clicks: %s (%s per second)\n", $2, $4; next }
              { printf "%-28s %8s %7s %9s %9s\n", $1, $2, $3, $4, $5 }'
