#!/bin/sh
# Stand-in for openshift/oc cmd/oc. Invoked as oc or through a link (kubectl, ...).
cmd=$(basename "$0")
case "${1:-}" in
    version)
        echo "Client Version: 4.17.0-0.okd-mini"
        ;;
    "")
        echo "$cmd: okd-mini stand-in for the OpenShift client; try '$cmd version'"
        ;;
    *)
        echo "$cmd: okd-mini stand-in; '$1' is not implemented" >&2
        exit 1
        ;;
esac
