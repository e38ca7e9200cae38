#!/usr/bin/env bash
# The test command: set up a fresh Debian/Ubuntu machine, then run every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
# Debian's chromium: the compare report's test opens the HTML page in it, headless.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "test: installing chromium (the HTML report's browser test)" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null \
    || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi
# The local engine (Podman API service, registry on 127.0.0.1:5000, okd-mini's base image): the
# local backend's tests build and push through it. `install` is the one-time root work (apt
# packages, registries.conf.d; a quick no-op once done); `start` starts what is not running.
# If it cannot start, the tests do not run.
scripts/engine.sh install
engine_env="$(scripts/engine.sh start | tail -n 1)"
case "$engine_env" in
  "export CONTAINER_HOST=unix://"*) eval "$engine_env" ;;
  *) echo "test: scripts/engine.sh start printed no CONTAINER_HOST line" >&2; exit 1 ;;
esac
export OKD_REGISTRY=127.0.0.1:5000
# Two-arch local builds (qemu-user-static's arm64 handler, an arm64 base image) where the machine
# allows mounting binfmt_misc; where it does not, the two-arch test says it skips.
scripts/engine.sh multiarch \
  || echo "test: no two-arch local builds on this machine (above says why); that test will say it skips" >&2
echo "test: CONTAINER_HOST=$CONTAINER_HOST OKD_REGISTRY=$OKD_REGISTRY" >&2
echo "test: OKD_SHARED=${OKD_SHARED:-<unset: tests that read ../shared will say they skip>}" >&2
cargo test --workspace --locked "$@"
