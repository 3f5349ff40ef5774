#!/usr/bin/env bash
# Debug build time of a generated `generated-models` crate (e.g. the N=1000 output of
# bench/peer.sh): a clean build and the rebuild after one model file changes.
#
#   bench/build_generated.sh OUTDIR N      (OUTDIR holds rust/, as written by codegen --out)
#
# It makes a two-member workspace in a temp dir (a copy of core/ and of OUTDIR/rust, the
# `../../core` path rewritten), with the main Cargo.lock and toolchain file, and builds it
# offline with a fresh CARGO_TARGET_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:?usage: build_generated.sh OUTDIR N}"
n="${2:?usage: build_generated.sh OUTDIR N}"
ws="$(mktemp -d /tmp/gen-build.XXXXXX)"
trap 'rm -rf "$ws"' EXIT
cp -r "$root/core" "$ws/core"
cp -r "$out/rust" "$ws/rust"
sed -i 's#path = "../../core"#path = "../core"#' "$ws/rust/Cargo.toml"
cp "$root/Cargo.lock" "$root/rust-toolchain.toml" "$ws/"
cat > "$ws/Cargo.toml" <<'TOML'
[workspace]
resolver = "3"
members = ["core", "rust"]

[workspace.package]
edition = "2024"
rust-version = "1.85"
license = "MIT OR Apache-2.0"
publish = false
TOML
export CARGO_TARGET_DIR="$ws/target" CARGO_NET_OFFLINE=true
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

models_bytes=$(du -sb "$ws/rust/src/models" | cut -f1)
rust_bytes=$(du -sb "$ws/rust/src" | cut -f1)
files=$(find "$ws/rust/src/models" -name '*.rs' | wc -l)
echo "generated Rust: rust/src/models $models_bytes B in $files files = $(( models_bytes / n )) B per model; all of rust/src $rust_bytes B = $(( rust_bytes / n )) B per model"

echo "load before clean build: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now_ms)
(cd "$ws" && /usr/bin/time -f '%e s wall, %U s user, %S s sys' cargo build -q -p generated-models)
echo "clean debug build (core + deps + generated-models): $(( $(now_ms) - t0 )) ms; load $(cut -d' ' -f1-3 /proc/loadavg)"

# Only generated-models: drop its artifacts, keep the dependencies'.
(cd "$ws" && cargo clean -q -p generated-models)
t0=$(now_ms)
(cd "$ws" && /usr/bin/time -f '%e s wall, %U s user, %S s sys' cargo build -q -p generated-models)
echo "debug build of generated-models alone (dependencies built): $(( $(now_ms) - t0 )) ms"

# Edit one model file (a comment appended) and rebuild.
# `find -quit` stops at the first match itself: a `| head -1` would end find with SIGPIPE, which
# `pipefail` turns into a failure of the script.
one=$(find "$ws/rust/src/models" -name 'seedance_copy_00000*.rs' -print -quit)
[ -n "$one" ] || one=$(find "$ws/rust/src/models" -name '*.rs' -print -quit)
echo "// edited" >> "$one"
t0=$(now_ms)
(cd "$ws" && /usr/bin/time -f '%e s wall, %U s user, %S s sys' cargo build -q -p generated-models)
echo "rebuild after editing ${one#$ws/}: $(( $(now_ms) - t0 )) ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
