#!/bin/sh
# Stand-in for openshift-install: reports its version and the oc it ships with.
case "${1:-}" in
    version)
        echo "openshift-install 4.17.0-0.okd-mini (okd-mini stand-in)"
        oc version
        ;;
    *)
        echo "openshift-install (okd-mini stand-in): try 'openshift-install version'"
        ;;
esac
