#!/usr/bin/env bash
# The whole test suite: unit tests of every crate, the rules' native tests, and the
# integration tests of the binary (which build the wasm guests from source first).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
# Runs of the demo and of the tests write their status files and locks elsewhere, never
# inside etc/ (a stray status or lock there would be picked up by the default paths).
left=$(git status --porcelain --ignored --untracked-files=all -- etc/ 2>/dev/null | grep -E '^(\?\?|!!)' || true)
if [ -n "$left" ]; then
    echo "error: the tests left files in etc/:" >&2
    echo "$left" >&2
    exit 1
fi
