#!/usr/bin/env bash
# The benchmark of issue 12: builds the host and the benchmark in release (the test kit the
# benchmark links builds the stock rules to wasm from source), then runs it at SCALE (default
# 1; 3 is three times the account). It prints the table and writes bench/report/scale-<SCALE>.json
# and .md; an earlier report at that scale must have raised the same alerts.
# Usage: bash bench/run.sh [SCALE] [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-1}
shift || true
rustup target add wasm32-wasip2 >/dev/null
cargo build --quiet --release -p reddalert -p reddalert-bench
target=${CARGO_TARGET_DIR:-target}
exec "$target/release/reddalert-bench" "$scale" --host "$target/release/reddalert" "$@"
