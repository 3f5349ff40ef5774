#!/usr/bin/env bash
# Whole-process benchmark of the service: sustained sync generations per second and p50/p99
# latency over HTTP on loopback (`server --mock`, Runware FLUX schnell, which the mock answers
# at once) on a SQLite file and on a throwaway Postgres, next to bare requests to the same mock
# endpoint in the same run; plus start-up time, idle RSS, and RSS with 10,000 async generations
# in flight. Traffic goes to 127.0.0.1 only, for a bounded time.
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

kill $pid; wait $pid 2>/dev/null || true

# The same load on Postgres (a throwaway cluster in the work dir). synchronous_commit=off is the
# durability SQLite's WAL with synchronous=NORMAL gives: every commit atomic and crash-safe for
# the process, the last ones lost on an OS crash.
pgbin=/usr/lib/postgresql/15/bin
pgdir="$work/pg"; mkdir -p "$pgdir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$pgdir" "$work"; as_pg=(runuser -u postgres --); fi
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pgport -k $pgdir -c synchronous_commit=off" start >/dev/null
trap 'kill $pid 2>/dev/null || true; "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true' EXIT
RUST_LOG=info "$bin" --mock --listen "127.0.0.1:$port" --postgres "postgres://postgres@127.0.0.1:$pgport/postgres" \
  --initial-credits 100000000 >"$work/out-pg.log" 2>"$work/err-pg.log" &
pid=$!
until grep -q '^listening on' "$work/out-pg.log" 2>/dev/null; do sleep 0.005; done
token=$(sed -n 's/^dev token: //p' "$work/out-pg.log")
read -r p_n p_ok p_err p_rps p_p50 p_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "$token" "$body_server" "$conc" "$secs")
pg_rows=$("${as_pg[@]}" "$pgbin/psql" -h "$pgdir" -p "$pgport" -U postgres -At -c "select count(*) from generations where status='completed'")
kill $pid; wait $pid 2>/dev/null || true

# 10,000 async generations in flight: a webhook model whose mock jobs take an hour, so every
# generation waits (fallback polls are rare); RSS once all are accepted.
RUST_LOG=warn "$bin" --mock --listen "127.0.0.1:$port" --db "$work/inflight.db" --mock-job-ms 3600000 \
  --initial-credits 100000000 >"$work/out-if.log" 2>"$work/err-if.log" &
pid=$!
until grep -q '^listening on' "$work/out-if.log" 2>/dev/null; do sleep 0.005; done
token=$(sed -n 's/^dev token: //p' "$work/out-if.log")
body_async='{"model":"replicate_flux_dev","params":{"prompt":"A red apple on a table"}}'
read -r i_n i_ok i_err i_rps i_p50 i_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "$token" "$body_async" 64 n10000)
sleep 2
inflight_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
running=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from generations where status in ('pending','processing')\").fetchone()[0])" "$work/inflight.db")
kill $pid; wait $pid 2>/dev/null || true

printf '%-34s %10s %8s %8s %9s %9s\n' "target ($conc connections, ${secs}s)" "requests" "errors" "req/s" "p50 ms" "p99 ms"
printf '%-34s %10s %8s %8s %9s %9s\n' "bare mock (POST /v1)" "$m_n" "$m_err" "$m_rps" "$m_p50" "$m_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, SQLite file (sync model)" "$s_n" "$s_err" "$s_rps" "$s_p50" "$s_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, Postgres (sync model)" "$p_n" "$p_err" "$p_rps" "$p_p50" "$p_p99"
echo "server / bare throughput: SQLite $(python3 -c "print(round($s_rps/$m_rps, 2))")x, Postgres $(python3 -c "print(round($p_rps/$m_rps, 2))")x"
echo "completed generation rows in Postgres: $pg_rows"
echo "completed generation rows in the database: $rows"
echo "start-up: $(( (t1 - t0) / 1000000 )) ms to 'listening', $(( (t2 - t0) / 1000000 )) ms to the first /healthz answer"
echo "RSS of the server process (the mock runs inside it and keeps a record of every request and job): idle $((idle_kb / 1024)) MiB, after the run $((busy_kb / 1024)) MiB"
echo "10,000 async generations: $i_ok accepted ($i_err errors) at $i_rps/s; $running in flight; RSS $((inflight_kb / 1024)) MiB (mock jobs and request records included)"
