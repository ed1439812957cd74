#!/usr/bin/env bash
# The candidates for interface 0.2.0 (bench/README.md, "Interface 0.2.0: the candidates"):
# builds the guest for wasm32-unknown-unknown and the runner natively, in release, then times
# each candidate on the instances of a benchmark snapshot.
#
# Usage: bash bench/candidates/run.sh [INSTANCES_JSON] [RUNS]
#   INSTANCES_JSON  default target/bench/scale-1/snapshot/view.instances;_expand.json, which
#                   `bash bench/run.sh 1` writes
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
instances=${1:-$root/target/bench/scale-1/snapshot/view.instances;_expand.json}
[ -f "$instances" ] || { echo "error: $instances not found: run bash bench/run.sh 1 first, or name a view/instances;_expand body" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
rustup target add wasm32-unknown-unknown >/dev/null
cd "$here"
cargo build --release -q -p candidates-guest --target wasm32-unknown-unknown
cargo build --release -q -p candidates-runner
"$CARGO_TARGET_DIR/release/candidates-runner" "$instances" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/candidates_guest.wasm" "${2:-5}"
