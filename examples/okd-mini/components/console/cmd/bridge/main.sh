#!/bin/sh
# Stand-in for the console backend ("bridge"): reports where its static files are.
dir=/opt/bridge/static
for arg in "$@"; do
    case "$arg" in
        --public-dir=*) dir=${arg#--public-dir=} ;;
    esac
done
echo "bridge (okd-mini stand-in): serving $dir"
ls "$dir"
