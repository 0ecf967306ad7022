#!/usr/bin/env bash
# RabbitMQ's management HTTP API on the gateway against the real one (test_management.py):
# starts a throwaway rabbitmq-server with its management plugin (rabbitmq.sh), builds the
# gateway, runs the comparison on the embedded backend and, when PULSAR_URL is set, on
# the Pulsar one (in a vhost of this run), then stops the node.
#   apt-get install -y rabbitmq-server python3-pika
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
export RABBITMQ_DIR=$work/rabbitmq
trap '"$here/rabbitmq.sh" stop || true; rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway)
eval "$("$here/rabbitmq.sh" start)"
export RABBITMQ_AMQP_PORT RABBITMQ_MGMT_PORT
status=0
echo "== embedded backend"
/usr/bin/python3 "$here/test_management.py" "$work/pulsar-gateway" "$work/embedded" || status=1
if [[ -n "${PULSAR_URL:-}" ]]; then
	admin=${PULSAR_ADMIN_URL:-http://127.0.0.1:8080}
	vhost="mgmt$(date +%s)$$"
	echo "== pulsar backend ($PULSAR_URL), vhost $vhost"
	# The vhost is a namespace of tenant public on Pulsar, a vhost made by rabbitmqctl on RabbitMQ.
	curl -fsS -X PUT "$admin/admin/v2/namespaces/public/$vhost" >/dev/null
	node_env() { source "$RABBITMQ_DIR/env"; }
	node_env
	rabbitmqctl -n "$RABBITMQ_NODENAME" add_vhost "$vhost" >/dev/null
	rabbitmqctl -n "$RABBITMQ_NODENAME" set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null
	GATEWAY_ARGS="--backend pulsar --pulsar-url $PULSAR_URL --pulsar-admin-url $admin" AMQP_IT_VHOST=$vhost \
		/usr/bin/python3 "$here/test_management.py" "$work/pulsar-gateway" "$work/pulsar" || status=1
fi
exit $status
