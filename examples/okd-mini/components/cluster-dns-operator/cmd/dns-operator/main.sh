#!/bin/sh
# Stand-in for the DNS operator: reports the operand image it would deploy.
echo "dns-operator (okd-mini stand-in): operand image ${IMAGE:-<unset>}"
