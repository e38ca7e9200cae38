#!/bin/sh
# Stand-in for the coredns binary: prints the configuration it would serve.
conf=/etc/coredns/Corefile
[ "${1:-}" = "-conf" ] && [ -n "${2:-}" ] && conf=$2
echo "coredns (okd-mini stand-in) serving $conf:"
cat "$conf"
