#!/usr/bin/env bash
# Builds the gateway and runs test_many.py: three gateway processes on the
# Pulsar broker that PULSAR_URL and PULSAR_ADMIN_URL name (integration/pulsar/standalone.sh),
# with real clients (Debian's python3-paho-mqtt). Extra go build flags may
# come in GOFLAGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${PULSAR_URL:?set PULSAR_URL and PULSAR_ADMIN_URL (integration/pulsar/standalone.sh start prints them)}"
: "${PULSAR_ADMIN_URL:?set PULSAR_ADMIN_URL}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway)
PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$here/test_many.py" "$work/pulsar-gateway" "$work"
