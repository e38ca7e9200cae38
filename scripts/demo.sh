#!/usr/bin/env bash
# The main job: set up a fresh Debian/Ubuntu machine (Rust toolchain, git, Podman, a registry on
# 127.0.0.1:5000, the local busybox base image), build okd, then walk through examples/okd-mini:
# validate it, plan it, build and push it on Podman, build it again (nothing to do), assemble
# its release image (payload) and read it back.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
scripts/engine.sh install   # one-time root work: apt packages, registries.conf.d; then a no-op
engine_env="$(scripts/engine.sh start | tail -n 1)"
eval "$engine_env"
cargo build --release --locked -p okd-cli >&2
okd=target/release/okd
release=examples/okd-mini/release.yaml
out=target/okd-mini
state=${OKD_STATE_DIR:-$out/state}
mkdir -p "$out"

echo "== okd validate $release --strict"
$okd validate "$release" --strict
echo
echo "== okd plan $release"
$okd plan "$release"
$okd plan "$release" --output json > "$out/plan.json"
$okd graph "$release" --format dot > "$out/graph.dot"
echo
echo "== okd build $release --backend local --push   (engine: $CONTAINER_HOST)"
$okd build "$release" --backend local --state "$state" --push
echo
echo "== okd build again: every fingerprint was built before, so nothing is rebuilt"
$okd build "$release" --backend local --state "$state"
echo
echo "== okd runs $release: the run store every backend shares (the rebuild of the same inputs was the same run)"
$okd runs "$release" --state "$state"
echo
echo "== okd payload assemble $release --backend local   (the latest local run of the release)"
$okd payload assemble "$release" --backend local --state "$state" --output json > "$out/payload.json"
payload_ref="$(sed -n 's/^  "image": "\(.*\):[^:]*",$/\1/p' "$out/payload.json")@$(sed -n 's/^  "digest": "\(.*\)",$/\1/p' "$out/payload.json")"
echo "release image: $payload_ref"
echo
echo "== okd payload info $payload_ref"
$okd payload info "$payload_ref"
echo
echo "== okd payload publish $release --backend local: a nightly of a release stream, and the openshift/release files for it"
$okd payload publish "$release" --backend local --state "$state" --to 127.0.0.1:5000/okd/okd-mini-stream \
  --stream okd-scos --out "$out/openshift-release"
echo
echo "== okd render $release --backend konflux: what every repository would carry under Konflux"
$okd render "$release" --backend konflux --out "$out/konflux" --force | tail -n 1
echo
echo "== okd backends"
$okd backends
echo
echo "== okd compare: the six approaches on okd-mini, its components as git repositories (as OKD's are)"
# Each components/NAME becomes a file:// repository, so every cluster backend can map it.
git_release="$out/git/release.yaml"
rm -rf "$out/git" && mkdir -p "$out/git"
abs_git="$(cd "$out/git" && pwd)"
sed -E "s#source: \{ path: components/([a-z0-9-]+) \}#source: { git: \"file://$abs_git/\1\", ref: main }#" \
  "$release" > "$git_release"
for dir in examples/okd-mini/components/*/; do
  name=$(basename "$dir")
  cp -r "$dir" "$out/git/$name"
  git -C "$out/git/$name" -c init.defaultBranch=main init -q
  git -C "$out/git/$name" add -A
  git -C "$out/git/$name" -c user.name=okd -c user.email=okd@localhost -c commit.gpgsign=false commit -qm import
done
$okd compare "$git_release" --runs latest --state "$state" --cache-dir "$out/git-cache"
$okd compare "$git_release" --runs latest --state "$state" --cache-dir "$out/git-cache" --output html > "$out/compare.html"
$okd compare "$git_release" --state "$state" --cache-dir "$out/git-cache" --output json > "$out/compare.json"
echo
echo "Images: 127.0.0.1:5000/okd/okd-mini:<component> (curl http://127.0.0.1:5000/v2/okd/okd-mini/tags/list)"
echo "Build logs: $state/logs/<run>/<component>.log; history: $state/state.db"
echo "Konflux render: $out/konflux (<org>/<repo>/.tekton/*.yaml, OKD Dockerfiles, konflux/tenant.yaml)."
echo "Comparison: $out/compare.html (open it in a browser), $out/compare.json (docs/compare.md)."
echo "Saved: $out/plan.json (okd plan --output json), $out/graph.dot (okd graph --format dot)."
echo "Release image: $payload_ref (okd payload info/diff; saved as $out/payload.json)."
echo "Release stream: 127.0.0.1:5000/okd/okd-mini-stream:scos-4.17; its release-controller config and mirroring mapping: $out/openshift-release/core-services/."
