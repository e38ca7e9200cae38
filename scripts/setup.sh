#!/usr/bin/env bash
# Installs what okd-build needs on a fresh Debian or Ubuntu machine. Idempotent: it installs
# only what is missing, so running it again is cheap. Sourced by demo.sh and test.sh, which then
# run scripts/engine.sh install (the container engine's packages and config) and start.
set -euo pipefail

need_apt=()
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need_apt[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  # Debian's packaged rustc is too old for edition 2024; rustup is the supported way.
  echo "setup: cargo not found. Install Rust 1.89 or newer with rustup (https://rustup.rs), then run this again." >&2
  exit 3
fi

# The shared reference material (corpus, CRD schemas) sits beside the project when present.
if [ -z "${OKD_SHARED:-}" ] && [ -d "$(dirname "$0")/../../shared" ]; then
  OKD_SHARED="$(cd "$(dirname "$0")/../../shared" && pwd)"
  export OKD_SHARED
fi
