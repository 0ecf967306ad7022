#!/usr/bin/env bash
# Issue 19's RocketMQ acceptance suite (suite/, a Go program: rocketmq-client-go/v2 in process and
# RocketMQ's Java client 5.1.4 in a JVM it builds with mvn and javac), in one of three modes:
#
#   suite.sh reference   start a real RocketMQ 5.1.4 (rocketmq.sh, with enablePropertyFilter=true
#                        for the SQL92 scenarios) in a data folder of its own, run the suite
#                        against it, stop it
#   suite.sh gateway     build the gateway and run the suite against it, RocketMQ beside Kafka,
#                        MQTT and AMQP in one process, cross-protocol scenarios included: on the
#                        embedded backend, and again on Pulsar when PULSAR_URL and PULSAR_ADMIN_URL
#                        are set (then a native Pulsar client too)
#   suite.sh endpoint    run it against ROCKETMQ_NAMESRV (any name server, host:port)
#
# Output: `ok   <scenario> (<s>)` / `FAIL <scenario> (<s>): why` lines, then `N passed, N failed`;
# exit 1 on any failure, also when the endpoint is unreachable or java, javac or mvn is missing.
# Extra arguments go to the suite program (e.g. -run '^java/' -v). Environment:
#   ROCKETMQ_SUITE_GATEWAY_ARGS  extra gateway flags (gateway mode)
#   EMBEDDED=0                   gateway mode: only the Pulsar round
#   ROCKETMQ_DATA                reference mode: the broker's folder (default: a fresh temporary one)
# About a minute against the real broker: the Go scenarios run 4 at a time beside the JVM,
# which runs the Java ones in turn (~30 s); the longest is go/retry-dlq (~41 s: the Go client
# polls routes every 30 s and rebalances every 20 s, fixed, and takes its group's new %RETRY%
# queue only then). Bounded by -timeout per scenario (90 s; the Java client's all together 4x).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=${1:-}
shift || true
work=$(mktemp -d /tmp/rocketmq-suite.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
(cd "$root" && go build -o "$work/suite" ./integration/rocketmq/suite)

case $mode in
reference)
	export ROCKETMQ_DATA=${ROCKETMQ_DATA:-$work/rocketmq}
	# SQL92 filters on, as the gateway serves them; a send may wait 1 s in the broker's queue
	# before it sheds load (its default 200 ms answered SYSTEM_BUSY on this 2-core machine
	# while other tests ran).
	export ROCKETMQ_BROKER_EXTRA_CONF=${ROCKETMQ_BROKER_EXTRA_CONF:-$'enablePropertyFilter=true\nwaitTimeMillsInSendQueue=1000'}
	trap '"$here/rocketmq.sh" stop >/dev/null 2>&1 || true; cleanup' EXIT
	eval "$("$here/rocketmq.sh" start --fresh | grep '^ROCKETMQ_NAMESRV=')"
	echo "== real RocketMQ at $ROCKETMQ_NAMESRV"
	"$work/suite" -namesrv "$ROCKETMQ_NAMESRV" "$@"
	;;
gateway)
	(cd "$root" && go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway)
	status=0
	if [[ ${EMBEDDED:-1} != 0 ]]; then
		echo "== gateway, embedded backend"
		"$work/suite" -gateway "$work/pulsar-gateway" -backend embedded "$@" || status=1
	fi
	if [[ -n ${PULSAR_URL:-} ]]; then
		echo "== gateway, pulsar backend ($PULSAR_URL)"
		"$work/suite" -gateway "$work/pulsar-gateway" -backend pulsar "$@" || status=1
	fi
	exit $status
	;;
endpoint)
	[[ -n ${ROCKETMQ_NAMESRV:-} ]] || { echo "suite.sh endpoint: set ROCKETMQ_NAMESRV" >&2; exit 1; }
	"$work/suite" -namesrv "$ROCKETMQ_NAMESRV" "$@"
	;;
*)
	echo "usage: $0 reference|gateway|endpoint [suite flags...]" >&2
	exit 2
	;;
esac
