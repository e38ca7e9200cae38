#!/usr/bin/env bash
# The test command: set up a fresh Debian/Ubuntu machine, then run every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
echo "test: OKD_SHARED=${OKD_SHARED:-<unset: tests that read ../shared will say they skip>}" >&2
cargo test --workspace --locked "$@"
