#!/usr/bin/env bash
# The whole test suite: unit tests of every crate, the rules' native tests, and the
# integration tests of the binary (which build the wasm guests from source first).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
