#!/usr/bin/env bash
# Whole-process benchmark of the service: sustained sync generations per second and p50/p99
# latency over HTTP on loopback (`server --mock`, SQLite file store, Runware FLUX schnell, which
# the mock answers at once), next to bare requests to the same mock endpoint in the same run;
# plus start-up time and idle RSS. Traffic goes to 127.0.0.1 only, for a bounded time.
#
#   bench/server.sh [SECONDS] [CONCURRENCY]      (default: 10 32)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-10}"
conc="${2:-32}"
work="$root/target/server-bench"
rm -rf "$work" && mkdir -p "$work"
cargo build -q --release -p server --bin server --example load
bin="$root/target/release/server"
load="$root/target/release/examples/load"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

t0=$(date +%s%N)
RUST_LOG=info "$bin" --mock --listen "127.0.0.1:$port" --db "$work/bench.db" \
  --initial-credits 100000000 >"$work/out.log" 2>"$work/err.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until grep -q '^listening on' "$work/out.log" 2>/dev/null; do sleep 0.005; done
t1=$(date +%s%N)
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.005; done
t2=$(date +%s%N)
sleep 1
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
token=$(sed -n 's/^dev token: //p' "$work/out.log")
mock=$(sed -n 's/.*mock_started.*url=\(http[^ ]*\).*/\1/p' "$work/err.log" | head -1)

body_server='{"model":"runware_flux_1_schnell","params":{"prompt":"A red apple on a table"}}'
body_mock='[{"taskType":"imageInference","taskUUID":"0b6c2f36-3a53-4d5b-9d0e-7b1f7a1c2d3e","model":"runware:100@1","positivePrompt":"A red apple on a table","width":1024,"height":1024,"steps":4,"numberResults":1,"outputFormat":"WEBP","outputType":"URL","includeCost":true}]'

read -r m_n m_ok m_err m_rps m_p50 m_p99 < <("$load" "$mock/p/runware/v1" mock-key "$body_mock" "$conc" "$secs")
read -r s_n s_ok s_err s_rps s_p50 s_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "$token" "$body_server" "$conc" "$secs")
busy_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
rows=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from generations where status='completed'\").fetchone()[0])" "$work/bench.db")

printf '%-34s %10s %8s %8s %9s %9s\n' "target ($conc connections, ${secs}s)" "requests" "errors" "req/s" "p50 ms" "p99 ms"
printf '%-34s %10s %8s %8s %9s %9s\n' "bare mock (POST /v1)" "$m_n" "$m_err" "$m_rps" "$m_p50" "$m_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, SQLite file (sync model)" "$s_n" "$s_err" "$s_rps" "$s_p50" "$s_p99"
echo "server / bare throughput: $(python3 -c "print(round($s_rps/$m_rps, 2))")x"
echo "completed generation rows in the database: $rows"
echo "start-up: $(( (t1 - t0) / 1000000 )) ms to 'listening', $(( (t2 - t0) / 1000000 )) ms to the first /healthz answer"
echo "RSS of the server process (the mock runs inside it and keeps a record of every request and job): idle $((idle_kb / 1024)) MiB, after the run $((busy_kb / 1024)) MiB"
