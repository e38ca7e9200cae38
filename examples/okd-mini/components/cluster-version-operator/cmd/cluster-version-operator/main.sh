#!/bin/sh
# Stand-in for the cluster-version-operator binary: lists the manifests it
# would apply, from its own /manifests and from a payload's /release-manifests.
echo "cluster-version-operator (okd-mini stand-in) $*"
for dir in /manifests /release-manifests; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
        [ -f "$f" ] && echo "$dir: $(basename "$f")"
    done
done
