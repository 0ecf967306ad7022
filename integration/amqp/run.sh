#!/usr/bin/env bash
# Builds the gateway and runs the AMQP scenarios of test_clients.py against it with
# Debian's python3-pika and amqp-tools (librabbitmq's command line tools):
#   apt-get install -y python3-pika amqp-tools mosquitto   (mosquitto: mosquitto_passwd)
# On the embedded backend, and again with --backend pulsar when PULSAR_URL (and
# PULSAR_ADMIN_URL, default http://127.0.0.1:8080) are set: the scenarios then run in a
# per-run vhost, whose namespace public/<vhost> the script creates through the admin API
# (the broker is shared and keeps state). Extra go build flags may come in GOFLAGS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway)
status=0
if [[ "${EMBEDDED:-1}" != 0 ]]; then # EMBEDDED=0: only the Pulsar round
	echo "== embedded backend"
	/usr/bin/python3 "$here/test_clients.py" "$work/pulsar-gateway" "$work/data" || status=1
fi
if [[ -n "${PULSAR_URL:-}" ]]; then
	admin=${PULSAR_ADMIN_URL:-http://127.0.0.1:8080}
	echo "== pulsar backend ($PULSAR_URL)"
	GATEWAY_ARGS="--backend pulsar --pulsar-url $PULSAR_URL --pulsar-admin-url $admin" \
		PULSAR_ADMIN_URL=$admin AMQP_IT_VHOST="it$(date +%s)$$" \
		/usr/bin/python3 "$here/test_clients.py" "$work/pulsar-gateway" "$work/data-pulsar" || status=1
fi
exit $status
