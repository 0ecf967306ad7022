#!/usr/bin/env bash
# Gateway vs Mosquitto: end-to-end MQTT throughput and idle connection
# memory (see ../README.md). Needs Debian's mosquitto broker
# (apt-get install -y mosquitto); adds the Pulsar backend when PULSAR_URL
# and PULSAR_ADMIN_URL are set. Flags go to the bench program (-h lists them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# 10,000 idle connections need as many descriptors in the servers and here.
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway && go build -o "$work/bench" ./integration/mqtt/bench)
"$work/bench" -gateway "$work/pulsar-gateway" "$@"
