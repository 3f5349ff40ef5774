#!/usr/bin/env bash
# Whole-process benchmark: the release `codegen` binary on synthetic registries of N models,
# next to json-schema-to-typescript (the peer) compiling the same params JSON Schemas, plus
# codegen's own stage timings, in one run.
#
#   bench/peer.sh [N ...]          (default: 100 1000 10000)
#
# Environment:
#   PEER_WORK=DIR      where the synthetic models and outputs go (default target/peer-bench, on
#                      the project's disk: on this machine /tmp creates files several times slower)
#   PEER_NO_BUILD=1    use the existing target/release binaries, do not run cargo build
#   PEER_SLOW_MS=15000 a codegen run slower than this is timed once, not best of 3
#   PEER_SKIP_DEFAULT_ABOVE=N  skip the peer's default (prettier) run above N models
#
# Synthetic models: models/ copied whole (providers/, monitoring.yaml, every provider's specs)
# plus N - <bundled count> copies of models/kie_ai/seedance_v1_lite.yaml with the `id:` line
# rewritten to seedance_copy_NNNNN, each in kie_ai/<id>.yaml. So every row has exactly N models.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bench="$root/bench"
work="${PEER_WORK:-$root/target/peer-bench}"
slow_ms="${PEER_SLOW_MS:-15000}"
skip_default_above="${PEER_SKIP_DEFAULT_ABOVE:-1000000}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000 10000)

codegen="$root/target/release/codegen"
stage_times="$root/target/release/examples/stage_times"
if [ "${PEER_NO_BUILD:-0}" != 1 ]; then
  (cd "$root" && cargo build --release -q -p codegen --bin codegen --example stage_times)
fi
[ -x "$codegen" ] && [ -x "$stage_times" ] || { echo "missing $codegen or $stage_times" >&2; exit 1; }
# Private copies, so a concurrent cargo build cannot swap the binaries during the run.
mkdir -p "$work/bin"
cp "$codegen" "$stage_times" "$work/bin/"
codegen="$work/bin/codegen"; stage_times="$work/bin/stage_times"
(cd "$bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "# $(date -u +%FT%TZ)  $(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD -- codegen core || echo ' (codegen/ or core/ has uncommitted changes)')"
echo "# $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# node $(node --version), json-schema-to-typescript $(node -p "require('$bench/node_modules/json-schema-to-typescript/package.json').version"), hyperfine: $(command -v hyperfine >/dev/null && hyperfine --version || echo none)"

bundled=$(find "$root/models" -name '*.yaml' ! -path '*/providers/*' ! -name monitoring.yaml | wc -l)
# stage_times keeps the bundled specs outside kie_ai/ and adds its own copies: pass it the
# count that makes its registry N models too.
outside_kie=$(find "$root/models" -name '*.yaml' ! -path '*/providers/*' ! -path '*/kie_ai/*' ! -name monitoring.yaml | wc -l)

rows=()
for n in "${sizes[@]}"; do
  if [ "$n" -lt "$bundled" ]; then echo "N=$n is below the $bundled bundled models; skipped" >&2; continue; fi
  dir="$work/n$n"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -r "$root/models" "$dir/models"
  copies=$(( n - bundled ))
  # One awk process writes every copy (bounded: exactly $copies files).
  awk -v copies="$copies" -v out="$dir/models/kie_ai" '
    { lines[NR] = $0 }
    END {
      for (i = 0; i < copies; i++) {
        id = sprintf("seedance_copy_%05d", i); f = out "/" id ".yaml"
        for (j = 1; j <= NR; j++) {
          line = lines[j]
          if (line ~ /^id: /) line = "id: " id
          print line > f
        }
        close(f)
      }
    }' "$root/models/kie_ai/seedance_v1_lite.yaml"
  got=$(find "$dir/models" -name '*.yaml' ! -path '*/providers/*' ! -name monitoring.yaml | wc -l)
  [ "$got" -eq "$n" ] || { echo "N=$n: made $got models" >&2; exit 1; }
  "$codegen" validate --models "$dir/models" >/dev/null

  out="$dir/out"; schema="$dir/schema"
  cmd="$codegen --models $dir/models --out $out --schema-dir $schema"
  echo
  echo "## N=$n"
  # First run: a warm-up that also writes the output the peer and the build test read.
  rm -rf "$out" "$schema"
  t0=$(now_ms); $cmd >/dev/null; first=$(( $(now_ms) - t0 ))
  if [ "$first" -gt "$slow_ms" ]; then
    codegen_ms=$first; how="1 run (first run took ${first} ms > ${slow_ms} ms)"
  elif command -v hyperfine >/dev/null; then
    hyperfine --runs 3 --style none --prepare "rm -rf $out $schema" --export-json "$dir/hyperfine.json" "$cmd" >/dev/null
    codegen_ms=$(node -p "Math.round(Math.min(...require('$dir/hyperfine.json').results[0].times) * 1000)")
    how="best of 3 (hyperfine, output dirs removed before each run)"
  else
    codegen_ms=$first
    for _ in 1 2 3; do
      rm -rf "$out" "$schema"
      t0=$(now_ms); $cmd >/dev/null; t=$(( $(now_ms) - t0 ))
      [ "$t" -lt "$codegen_ms" ] && codegen_ms=$t
    done
    how="best of 3 (date, output dirs removed before each run)"
  fi
  rm -rf "$out" "$schema"; $cmd >/dev/null
  echo "codegen: $codegen_ms ms, $how; load now $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: $cmd"
  echo "output: rust $(du -sb "$out/rust" | cut -f1) B, ts $(du -sb "$out/ts" | cut -f1) B, sql $(du -sb "$out/sql" | cut -f1) B"

  echo "stage_times $(( n - outside_kie )) (= $n models):"
  "$stage_times" $(( n - outside_kie )) | sed 's/^/  /'

  modes=(unformatted)
  [ "$n" -le "$skip_default_above" ] && modes+=(default)
  peer=$(node "$bench/json2ts.mjs" "$out/ts/schemas.ts" "${modes[@]}")
  echo "$peer" | sed 's/^/json2ts: /'
  unf=$(echo "$peer" | node -e 'for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n")) { const r = JSON.parse(l); if (r.mode === "unformatted") console.log(r.ms) }')
  def=$(echo "$peer" | node -e 'let v = "skipped"; for (const l of require("fs").readFileSync(0,"utf8").trim().split("\n")) { const r = JSON.parse(l); if (r.mode === "default") v = r.ms } console.log(v)')
  ratio=$(node -p "($codegen_ms / $unf).toFixed(2)")
  rows+=("| $n | $codegen_ms | $def | $unf | $ratio |")
done

echo
echo "| N | codegen ms | json2ts default ms | json2ts unformatted ms | codegen / unformatted |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
