#!/usr/bin/env bash
# Builds the stock rules (wasm) and the host, then runs reddalert's main job on the demo
# account in etc/demo/edda: real alerts from real wasm rules, no EDDA server needed.
# Extra arguments go to reddalert (for example `-o stdout_json` or a rule name).
set -euo pipefail
cd "$(dirname "$0")/../.."

rules=(secgroups elbs iam ami newtag missingtag)
rustup target add wasm32-wasip2 >/dev/null
cargo build --quiet --release --target wasm32-wasip2 $(printf -- '-p rule-%s ' "${rules[@]}")
cargo build --quiet -p reddalert

mkdir -p target/demo-rules
for rule in "${rules[@]}"; do
    cp "target/wasm32-wasip2/release/rule_${rule}.wasm" target/demo-rules/
done

# A fresh status file each time, so the demo always shows its alerts.
status_dir=$(mktemp -d)
trap 'rm -rf "$status_dir"' EXIT
# The demo window: the six hours of 2018-01-01 the snapshot covers.
target/debug/reddalert --configfile etc/demo/reddalert.toml --statusfile "$status_dir/status.json" \
    --since 2018-01-01T00:00:00Z --until 2018-01-01T06:00:00Z "$@"
