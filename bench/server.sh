#!/usr/bin/env bash
# Whole-process benchmark of the service: sustained sync generations per second and p50/p99
# latency over HTTP on loopback (`server --mock`, Runware FLUX schnell, which the mock answers
# at once) on a SQLite file and on a throwaway Postgres, next to bare requests to the same mock
# endpoint in the same run; on Postgres both as one user and as 32 users (one per connection);
# plus start-up time, idle RSS, and RSS with 10,000 async generations in flight, of the server
# with the mock inside it and of the server alone (the mock in its own process). Traffic goes to
# 127.0.0.1 only, for a bounded time.
#
#   bench/server.sh [SECONDS] [CONCURRENCY]      (default: 10 32)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-10}"
conc="${2:-32}"
work="$root/target/server-bench"
rm -rf "$work" && mkdir -p "$work"
cargo build -q --release -p server --bin server --example load -p registry-run --bin mock-provider
bin="$root/target/release/server"
mockbin="$root/target/release/mock-provider"
load="$root/target/release/examples/load"
# Wait until FILE has a line starting with TEXT, or fail when process PID has exited.
wait_for() {
  until grep -q "^$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "error: the process writing $1 exited:" >&2; tail -5 "${1/out/err}" >&2; exit 1; }
    sleep 0.005
  done
}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

t0=$(date +%s%N)
RUST_LOG=info "$bin" --mock --listen "127.0.0.1:$port" --db "$work/bench.db" \
  --initial-credits 100000000 >"$work/out.log" 2>"$work/err.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_for "$work/out.log" 'listening on' $pid
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
# One token per connection: user i's account row is taken by connection i alone.
users=()
for i in $(seq 0 $((conc - 1))); do
  users+=("bench-token-$i")
  printf '%s 00000000-0000-4000-8000-%012d\n' "$(printf '%s' "bench-token-$i" | sha256sum | cut -d' ' -f1)" "$i"
done >"$work/tokens"
many=$(IFS=,; echo "${users[*]}")
RUST_LOG=info "$bin" --mock --listen "127.0.0.1:$port" --postgres "postgres://postgres@127.0.0.1:$pgport/postgres" \
  --tokens "$work/tokens" --initial-credits 100000000 >"$work/out-pg.log" 2>"$work/err-pg.log" &
pid=$!
wait_for "$work/out-pg.log" 'listening on' $pid
read -r p_n p_ok p_err p_rps p_p50 p_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "${users[0]}" "$body_server" "$conc" "$secs")
read -r u_n u_ok u_err u_rps u_p50 u_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "$many" "$body_server" "$conc" "$secs")
pg_rows=$("${as_pg[@]}" "$pgbin/psql" -h "$pgdir" -p "$pgport" -U postgres -At -c "select count(*) from generations where status='completed'")
kill $pid; wait $pid 2>/dev/null || true

# 10,000 async generations in flight: a webhook model whose mock jobs take an hour, so every
# generation waits (fallback polls are rare); RSS once all are accepted.
RUST_LOG=warn "$bin" --mock --listen "127.0.0.1:$port" --db "$work/inflight.db" --mock-job-ms 3600000 \
  --initial-credits 100000000 >"$work/out-if.log" 2>"$work/err-if.log" &
pid=$!
wait_for "$work/out-if.log" 'listening on' $pid
token=$(sed -n 's/^dev token: //p' "$work/out-if.log")
body_async='{"model":"replicate_flux_dev","params":{"prompt":"A red apple on a table"}}'
read -r i_n i_ok i_err i_rps i_p50 i_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "$token" "$body_async" 64 n10000)
sleep 2
inflight_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
running=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from generations where status in ('pending','processing')\").fetchone()[0])" "$work/inflight.db")
kill $pid; wait $pid 2>/dev/null || true

# The same 10,000 with the mock in its own process (`mock-provider`), so that the server's RSS
# is its own: the providers' base URLs and webhook secrets come from what the mock prints, and
# every provider key is a placeholder the mock accepts.
MOCK_JOB_MS=3600000 "$mockbin" >"$work/mock.out" 2>"$work/mock.err" &
mpid=$!
trap 'kill $pid $mpid 2>/dev/null || true; "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true' EXIT
wait_for "$work/mock.out" 'mock provider listening' $mpid
(
  eval "$(grep '^export ' "$work/mock.out")"
  for name in $(cd "$root" && cargo run -q -p codegen -- keys | cut -f1); do
    [ -n "${!name:-}" ] || export "$name=bench-key"
  done
  exec env RUST_LOG=warn "$bin" --listen "127.0.0.1:$port" --db "$work/alone.db" --tokens "$work/tokens" \
    --initial-credits 100000000 >"$work/out-alone.log" 2>"$work/err-alone.log"
) &
pid=$!
wait_for "$work/out-alone.log" 'listening on' $pid
read -r a_n a_ok a_err a_rps a_p50 a_p99 < <("$load" "http://127.0.0.1:$port/v1/generations" "${users[0]}" "$body_async" 64 n10000)
sleep 2
alone_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
mock_kb=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
alone_running=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from generations where status in ('pending','processing')\").fetchone()[0])" "$work/alone.db")
kill $pid $mpid; wait $pid $mpid 2>/dev/null || true

printf '%-34s %10s %8s %8s %9s %9s\n' "target ($conc connections, ${secs}s)" "requests" "errors" "req/s" "p50 ms" "p99 ms"
printf '%-34s %10s %8s %8s %9s %9s\n' "bare mock (POST /v1)" "$m_n" "$m_err" "$m_rps" "$m_p50" "$m_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, SQLite file (sync model)" "$s_n" "$s_err" "$s_rps" "$s_p50" "$s_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, Postgres (sync, one user)" "$p_n" "$p_err" "$p_rps" "$p_p50" "$p_p99"
printf '%-34s %10s %8s %8s %9s %9s\n' "server, Postgres (sync, $conc users)" "$u_n" "$u_err" "$u_rps" "$u_p50" "$u_p99"
echo "server / bare throughput: SQLite $(python3 -c "print(round($s_rps/$m_rps, 2))")x, Postgres $(python3 -c "print(round($p_rps/$m_rps, 2))")x (one user), $(python3 -c "print(round($u_rps/$m_rps, 2))")x ($conc users)"
echo "completed generation rows in Postgres (both runs): $pg_rows"
echo "completed generation rows in the database: $rows"
echo "start-up: $(( (t1 - t0) / 1000000 )) ms to 'listening', $(( (t2 - t0) / 1000000 )) ms to the first /healthz answer"
echo "RSS of the server process (the mock runs inside it and keeps a record of every request and job): idle $((idle_kb / 1024)) MiB, after the run $((busy_kb / 1024)) MiB"
echo "10,000 async generations, mock in-process: $i_ok accepted ($i_err errors) at $i_rps/s; $running in flight; RSS $((inflight_kb / 1024)) MiB (mock jobs and request records included)"
echo "10,000 async generations, mock in its own process: $a_ok accepted ($a_err errors) at $a_rps/s; $alone_running in flight; server RSS $((alone_kb / 1024)) MiB, mock RSS $((mock_kb / 1024)) MiB"
