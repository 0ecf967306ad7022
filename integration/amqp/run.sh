#!/usr/bin/env bash
# Builds the gateway and runs the AMQP scenarios of test_clients.py against it with
# Debian's python3-pika and amqp-tools (librabbitmq's command line tools):
#   apt-get install -y python3-pika amqp-tools
# Extra go build flags may come in GOFLAGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway)
exec /usr/bin/python3 "$here/test_clients.py" "$work/pulsar-gateway" "$work/data"
