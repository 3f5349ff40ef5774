#!/usr/bin/env bash
# Run every test of the project. Installs what the tests need first (Debian packages, the
# pinned npm and Python tools), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing test dependencies"
scripts/install-test-deps.sh

step "generated code is fresh (cargo run -p codegen -- --check)"
cargo run -q -p codegen -- --check

step "formatting and lints"
cargo fmt --all --check
cargo clippy -q --workspace --all-targets -- -D warnings

step "Rust tests (codegen, runtime, generated crate, golden, trybuild, Postgres, parity, end to end)"
cargo test -q --workspace

step "schemas against an independent validator"
tests/schema/check.sh

step "TypeScript: tsc --strict, node tests, cost and validation parity, browser test"
tests/ts/run.sh

echo
echo "all tests passed"
