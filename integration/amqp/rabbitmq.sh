#!/usr/bin/env bash
# A throwaway RabbitMQ node (Debian's rabbitmq-server) with its management plugin, on
# loopback, in a folder of its own, on ports that do not clash with the gateway's:
#
#   RABBITMQ_DIR=/tmp/x integration/amqp/rabbitmq.sh start   prints RABBITMQ_AMQP_PORT=,
#                                                            RABBITMQ_MGMT_PORT=, RABBITMQ_NODENAME=
#   RABBITMQ_DIR=/tmp/x integration/amqp/rabbitmq.sh stop
#
# Ports: RABBITMQ_AMQP_PORT, RABBITMQ_MGMT_PORT,
# RABBITMQ_DIST_PORT; unset ones are picked free. The user guest/guest may log in from
# anywhere (loopback_users = none). Debian's wrapper drops root to the rabbitmq user,
# so the folder is made theirs.
set -euo pipefail
dir=${RABBITMQ_DIR:?set RABBITMQ_DIR to a folder of this node}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

node_env() {
	# shellcheck disable=SC1091
	source "$dir/env"
	export RABBITMQ_NODENAME RABBITMQ_NODE_PORT=$RABBITMQ_AMQP_PORT RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_DIST_PORT RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log \
		RABBITMQ_CONFIG_FILE=$dir/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
		RABBITMQ_PID_FILE=$dir/pid ERL_EPMD_ADDRESS=127.0.0.1
}

case "${1:-}" in
start)
	mkdir -p "$dir"
	# The rabbitmq user must reach the folder (mktemp -d makes parents 0700).
	chmod 755 "$dir" "$(dirname "$dir")"
	amqp=${RABBITMQ_AMQP_PORT:-$(free_port)}
	mgmt=${RABBITMQ_MGMT_PORT:-$(free_port)}
	dist=${RABBITMQ_DIST_PORT:-$(free_port)}
	cat >"$dir/env" <<EOF
RABBITMQ_AMQP_PORT=$amqp
RABBITMQ_MGMT_PORT=$mgmt
RABBITMQ_DIST_PORT=$dist
RABBITMQ_NODENAME=ref$amqp@localhost
EOF
	cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$amqp
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt
loopback_users = none
collect_statistics_interval = 1000
EOF
	echo '[rabbitmq_management].' >"$dir/enabled_plugins"
	if [ "$(id -u)" -eq 0 ] && id rabbitmq >/dev/null 2>&1; then
		chown -R rabbitmq:rabbitmq "$dir"
	fi
	node_env
	setsid rabbitmq-server >"$dir/server.out" 2>&1 </dev/null &
	echo $! >"$dir/wrapper.pid"
	# await_startup fails until the node registered with epmd: retry.
	for _ in $(seq 1 120); do
		kill -0 "$(cat "$dir/wrapper.pid")" 2>/dev/null || break # the node ended: see server.out
		if rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup --timeout 60 >/dev/null 2>&1; then
			break
		fi
		sleep 1
	done
	rabbitmqctl -n "$RABBITMQ_NODENAME" await_startup --timeout 5 >/dev/null || {
		cat "$dir/server.out" >&2
		exit 1
	}
	for _ in $(seq 1 60); do
		curl -fsS -u guest:guest "http://127.0.0.1:$mgmt/api/overview" >/dev/null 2>&1 && break
		sleep 1
	done
	curl -fsS -u guest:guest "http://127.0.0.1:$mgmt/api/overview" >/dev/null
	cat "$dir/env"
	;;
stop)
	[ -f "$dir/env" ] || exit 0
	node_env
	rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || {
		[ -f "$dir/wrapper.pid" ] && kill "$(cat "$dir/wrapper.pid")" 2>/dev/null || true
	}
	# The node started Erlang's port mapper daemon; stop it too unless another node uses it.
	for _ in $(seq 1 20); do
		epmd -names 2>/dev/null | grep -q "^name " || break
		sleep 0.5
	done
	epmd -names 2>/dev/null | grep -q "^name " || epmd -kill >/dev/null 2>&1 || true
	;;
*)
	echo "usage: RABBITMQ_DIR=... $0 start|stop" >&2
	exit 2
	;;
esac
