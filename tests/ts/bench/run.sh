#!/usr/bin/env bash
# Benchmark (not a test): time to emit the TypeScript bindings for synthetic registries of
# 1,000 and 10,000 models, next to json-schema-to-typescript turning the same params schemas
# into types, in one run.
#
#   tests/ts/bench/run.sh [sizes...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
sizes=("${@:-1000}")
[ $# -eq 0 ] && sizes=(1000 10000)
(cd "$root/tests/ts/bench" && npm ci --no-audit --no-fund --loglevel=error)
(cd "$root" && cargo run --release -q -p registry-tests --bin ts_bench -- "${sizes[@]}")
schemas=()
for n in "${sizes[@]}"; do schemas+=("$root/target/ts-bench/schemas-$n.json"); done
node "$root/tests/ts/bench/jstt.mjs" "${schemas[@]}"
