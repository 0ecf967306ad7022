#!/usr/bin/env bash
# Builds the gateway and runs the MQTT scenarios of test_clients.py against
# it with Debian's mosquitto-clients and python3-paho-mqtt:
#   apt-get install -y mosquitto-clients python3-paho-mqtt mosquitto   (mosquitto: mosquitto_passwd)
# and those of test_websockets.py (MQTT over ws:// and wss://) with paho,
# MQTT.js in Node and in headless Chromium, mosquitto_sub and kcat:
#   apt-get install -y chromium kcat openssl; npm install mqtt (NODE_PATH names
#   its node_modules; scripts/test.sh does both). Its screenshot goes to
#   $TEST_ARTIFACTS when set.
# On the embedded backend, and again on Pulsar when PULSAR_URL and
# PULSAR_ADMIN_URL are set (topics and client ids then carry a per-run
# prefix: the broker is shared and keeps state). Extra go build flags may
# come in GOFLAGS.
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
	/usr/bin/python3 "$here/test_websockets.py" "$work/pulsar-gateway" "$work/data-ws" "${TEST_ARTIFACTS:-/tmp/pulsar-gateway-artifacts}" || status=1
fi
if [[ -n "${PULSAR_URL:-}" ]]; then
	echo "== pulsar backend ($PULSAR_URL)"
	GATEWAY_ARGS="--backend pulsar --pulsar-url $PULSAR_URL --pulsar-admin-url ${PULSAR_ADMIN_URL:-http://127.0.0.1:8080}" \
		MQTT_IT_PREFIX="it$(date +%s)$$" \
		/usr/bin/python3 "$here/test_clients.py" "$work/pulsar-gateway" "$work/data-pulsar" || status=1
	GATEWAY_ARGS="--backend pulsar --pulsar-url $PULSAR_URL --pulsar-admin-url ${PULSAR_ADMIN_URL:-http://127.0.0.1:8080}" \
		MQTT_IT_PREFIX="itws$(date +%s)$$" \
		/usr/bin/python3 "$here/test_websockets.py" "$work/pulsar-gateway" "$work/data-pulsar-ws" "${TEST_ARTIFACTS:-/tmp/pulsar-gateway-artifacts}" || status=1
fi
exit $status
