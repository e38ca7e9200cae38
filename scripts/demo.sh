#!/usr/bin/env bash
# The main job: set up a fresh Debian/Ubuntu machine, build okd, and walk through
# examples/okd-mini: validate it, plan it, show its graph and the backends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked -p okd-cli >&2
okd=target/release/okd
release=examples/okd-mini/release.yaml
out=target/okd-mini
mkdir -p "$out"

echo "== okd validate $release --strict"
$okd validate "$release" --strict
echo
echo "== okd plan $release"
$okd plan "$release"
$okd plan "$release" --output json > "$out/plan.json"
$okd graph "$release" --format dot > "$out/graph.dot"
echo
echo "== okd backends"
$okd backends
echo
echo "Saved: $out/plan.json (okd plan --output json), $out/graph.dot (okd graph --format dot)."
echo "Building okd-mini on Podman and assembling its payload come with the local backend (issue 5);"
echo "'okd plan --backend local' says so today."
