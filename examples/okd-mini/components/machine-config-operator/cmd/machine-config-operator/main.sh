#!/bin/sh
# Stand-in for the machine-config-operator binary: prints the OS image tag it
# would roll out to nodes.
tag=$(sed -n 's/^ *baseOSContainerImageTag: *//p' /manifests/0000_80_machine-config_01_osimageurl.yaml)
echo "machine-config-operator (okd-mini stand-in): OS image tag ${tag:-<unknown>}"
