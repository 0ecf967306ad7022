#!/usr/bin/env bash
# The benchmark table in one run: starts the reference brokers itself (Kafka from
# integration/kafka/kraft.sh, Pulsar from integration/pulsar/standalone.sh, Mosquitto and
# RabbitMQ from Debian, started by the MQTT and AMQP load programs), runs every load program
# (integration/{kafka,mqtt,amqp}/bench, each interleaving its targets round by round with their
# order rotated), stops the brokers, and writes docs/benchmarks.md and its PNG charts
# (docs/benchmarks/) with scripts/bench, a module of its own for the plotting library.
#
#   scripts/bench.sh                 the full table (about 20 minutes on 2 cores)
#   BENCH_QUICK=1 scripts/bench.sh   tiny loads (many topics: 500 partitions): checks the harness in a couple of minutes
#                                    (writes to $BENCH_OUT, default /tmp/pulsar-gateway-bench)
#
# Environment (all optional):
#   BENCH_ROUNDS    rounds of each load program (default 3)
#   BENCH_PULSAR    0: leave the Pulsar rows out (no broker started)
#   BENCH_KAFKA     0: leave real Kafka out;  BENCH_RABBIT 0: leave RabbitMQ out
#   BENCH_OUT       folder for the page and charts (default: docs/ of this repository;
#                   with BENCH_QUICK, /tmp/pulsar-gateway-bench)
#   BENCH_PULSAR_PORT / BENCH_PULSAR_HTTP_PORT / BENCH_KAFKA_PORT: the brokers' ports (default
#                   16650 / 18080 / 29092, away from the defaults the tests use)
# Numbers are reported, never asserted: this is not part of scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
quick=${BENCH_QUICK:-0}
rounds=${BENCH_ROUNDS:-3}
if [[ $quick == 1 ]]; then
	out=${BENCH_OUT:-/tmp/pulsar-gateway-bench}
	rounds=${BENCH_ROUNDS:-1}
else
	out=${BENCH_OUT:-$root/docs}
fi
mkdir -p "$out"
work=$(mktemp -d /tmp/pulsar-gateway-bench.XXXXXX)
chmod 755 "$work"
results=$work/results.jsonl
: >"$results"
started=$SECONDS
log() { echo "bench.sh: $*" >&2; }

export KAFKA_DATA=$work/kraft KAFKA_PORT=${BENCH_KAFKA_PORT:-29092} KAFKA_CONTROLLER_PORT=$((${BENCH_KAFKA_PORT:-29092} + 1))
kafka_version=${KAFKA_VERSION:-$(sed -n 's/^KAFKA_VERSION=\${KAFKA_VERSION:-\(.*\)}$/\1/p' integration/kafka/kraft.sh)}
pulsar_version=${PULSAR_VERSION:-$(sed -n 's/^PULSAR_VERSION=\${PULSAR_VERSION:-\(.*\)}$/\1/p' integration/pulsar/standalone.sh)}
export PULSAR_DATA=$work/pulsar PULSAR_PORT=${BENCH_PULSAR_PORT:-16650} PULSAR_HTTP_PORT=${BENCH_PULSAR_HTTP_PORT:-18080}
# Only the brokers this run started (their pid files are in $work).
cleanup_brokers() {
	[[ ${BENCH_KAFKA:-1} == 0 ]] || integration/kafka/kraft.sh stop >/dev/null 2>&1 || true
	[[ ${BENCH_PULSAR:-1} == 0 ]] || integration/pulsar/standalone.sh stop >/dev/null 2>&1 || true
	[[ ${BENCH_ROCKETMQ:-1} == 0 ]] || ROCKETMQ_DATA=$work/rocketmq integration/rocketmq/rocketmq.sh stop >/dev/null 2>&1 || true
}
cleanup() {
	cleanup_brokers
	rm -rf "$work"
}
trap cleanup EXIT

# The idle-connection test holds as many sockets on each side as the hard limit on open files
# allows (issue 18 asks for 200,000: a process without CAP_SYS_RESOURCE cannot go past the limit).
ulimit -n "$(ulimit -Hn)"
fd_limit=$(ulimit -Hn)
[[ $fd_limit == unlimited ]] && fd_limit=1048576
idle_full=$((fd_limit - 1000 < 200000 ? fd_limit - 1000 : 200000))
# CAP_SYS_RESOURCE is bit 24 of the effective capabilities.
if (((0x$(awk '/^CapEff:/ {print $2}' /proc/self/status) >> 24) & 1)); then
	sys_resource="has CAP_SYS_RESOURCE"
else
	sys_resource="lacks CAP_SYS_RESOURCE (CapEff in /proc/self/status; capsh --print shows cap_sys_resource-ep), so no process can raise it"
fi

log "building"
go build -o "$work/pulsar-gateway" ./cmd/pulsar-gateway
go build -o "$work/kafka-bench" ./integration/kafka/bench
go build -o "$work/mqtt-bench" ./integration/mqtt/bench
go build -o "$work/amqp-bench" ./integration/amqp/bench
go build -o "$work/rocketmq-bench" ./integration/rocketmq/bench

missing=()
# step NAME COMMAND...: a load program that fails leaves its rows out and says so on the page,
# rather than losing the whole run.
step() {
	local name=$1
	shift
	log "$name"
	if ! "$@"; then
		log "$name failed"
		missing+=(--missing "$name: its program failed in this run (rerun to see why)")
	fi
}
if [[ ${BENCH_KAFKA:-1} != 0 ]]; then
	log "starting Kafka"
	eval "$(integration/kafka/kraft.sh start --fresh | grep '^KAFKA_BOOTSTRAP=')"
	export KAFKA_BOOTSTRAP
else
	unset KAFKA_BOOTSTRAP
	missing+=(--missing "real Kafka (BENCH_KAFKA=0)")
fi
rabbit=true
if [[ ${BENCH_RABBIT:-1} == 0 ]]; then
	rabbit=false
	missing+=(--missing "RabbitMQ (BENCH_RABBIT=0)")
fi
if [[ ${BENCH_PULSAR:-1} != 0 ]]; then
	log "starting Pulsar"
	if urls=$(integration/pulsar/standalone.sh start --fresh | grep -E '^PULSAR_(URL|ADMIN_URL)='); then
		eval "$urls"
		export PULSAR_URL PULSAR_ADMIN_URL
	else
		BENCH_PULSAR=0
		unset PULSAR_URL PULSAR_ADMIN_URL
		missing+=(--missing "the Pulsar rows: the standalone broker did not start")
	fi
else
	unset PULSAR_URL PULSAR_ADMIN_URL
	missing+=(--missing "the Pulsar rows (BENCH_PULSAR=0)")
fi

if [[ $quick == 1 ]]; then
	kbytes=$((2 << 20)) secs=2 mqtt_total=4000 mqtt_msgs=400 idle=500 idle_active=50 amqp_n=2000 mt_topics=50 mt_pulsar_topics=20
else
	kbytes=$((64 << 20)) secs=10 mqtt_total=40000 mqtt_msgs=4000 idle=$idle_full idle_active=1000 amqp_n=20000 mt_topics=1000 mt_pulsar_topics=100
fi

step "Kafka throughput" "$work/kafka-bench" -runs "$rounds" -bytes "$kbytes" -sizes 100,1024 -partitions 1,8 -json "$results" >"$work/kafka.txt"
java_bench() { # the Java Pulsar client, from the standalone broker's jars, after a JIT warm-up round
	java -cp "$work/java:$pulsar_lib/*" PulsarBench -url "$PULSAR_URL" -admin-url "$PULSAR_ADMIN_URL" -runs "$rounds" -json "$results" "$@" >/dev/null
}
if [[ ${BENCH_PULSAR:-1} != 0 ]]; then
	pulsar_lib=${PULSAR_HOME:-$HOME/.cache/pulsar-gateway/pulsar-$pulsar_version}/lib
	javac -nowarn -cp "$pulsar_lib/*" -d "$work/java" integration/pulsar/bench/PulsarBench.java
	step "Java Pulsar client throughput" java_bench -bytes "$kbytes" -sizes 100,1024 -partitions 1,8
fi
step "Kafka latency" "$work/kafka-bench" -mode latency -runs "$rounds" -sizes 100 -rate 10000 -secs "$secs" -json "$results" >"$work/kafka-latency.txt"
if [[ ${BENCH_PULSAR:-1} != 0 ]]; then
	# One Java client run is the reference of the three protocols' latency on Pulsar.
	step "Java Pulsar client latency" java_bench -mode latency -sizes 100 -rate 10000 -secs "$secs" -latency-as "Kafka,MQTT QoS 1,AMQP confirms"
	step "MQTT latency on Pulsar" "$work/mqtt-bench" -gateway "$work/pulsar-gateway" -servers pulsar -rounds "$rounds" \
		-fans "" -fanout=false -idle 0 -rate 10000 -secs "$secs" -json "$results" >"$work/mqtt-pulsar.txt"
	step "AMQP latency on Pulsar" "$work/amqp-bench" -rabbit=false -backends pulsar -rounds "$rounds" \
		-scenarios latency -rate 10000 -secs "$secs" -json "$results" >"$work/amqp-pulsar.txt"
fi
# 10,000 partitions on the gateway (embedded) and Kafka; the Pulsar standalone gets fewer (its rows
# are a scenario of their own, with the other two at that count for the ratios).
step "Kafka many topics" "$work/kafka-bench" -mode manytopics -runs "$rounds" -topics "$mt_topics" -topic-partitions 10 \
	-pulsar-topics "$mt_pulsar_topics" -timeout 5m -json "$results" >"$work/kafka-manytopics.txt"
# RocketMQ: the gateway on both backends against a real RocketMQ 5.1.4 (integration/rocketmq).
if [[ ${BENCH_ROCKETMQ:-1} != 0 ]]; then
	log "starting RocketMQ"
	if urls=$(ROCKETMQ_DATA=$work/rocketmq integration/rocketmq/rocketmq.sh start --fresh | grep '^ROCKETMQ_NAMESRV='); then
		eval "$urls"
		step "RocketMQ" "$work/rocketmq-bench" -target rocketmq="$ROCKETMQ_NAMESRV" -gateway "$work/pulsar-gateway" \
			-gateway-backends "embedded${PULSAR_URL:+,pulsar}" -ref rocketmq -runs "$rounds" -json "$results" >"$work/rocketmq.txt"
	else
		missing+=(--missing "the RocketMQ rows: the reference broker did not start")
	fi
else
	missing+=(--missing "the RocketMQ rows (BENCH_ROCKETMQ=0)")
fi
# The JVMs go before the MQTT and AMQP throughput loads, which do not need them.
cleanup_brokers
step "MQTT" "$work/mqtt-bench" -gateway "$work/pulsar-gateway" -servers embedded,mosquitto -rounds "$rounds" \
	-fans 1,4,10,100 -qos 0,1,2 -total "$mqtt_total" -msgs "$mqtt_msgs" -idle "$idle" -active "$idle_active" -rate 10000 -secs "$secs" -json "$results" >"$work/mqtt.txt"
# AMQP throughput is compared with RabbitMQ, on the embedded backend (on Pulsar: its latency, above).
step "AMQP" "$work/amqp-bench" -backends embedded -rabbit=$rabbit -rounds "$rounds" -n "$amqp_n" \
	-scenarios queue,fanout10,latency -rate 10000 -secs "$secs" -json "$results" >"$work/amqp.txt"
cat "$work"/*.txt >&2

versions=(
	--version "pulsar-gateway=$(git describe --always --dirty 2>/dev/null || echo unknown)"
	--version "Go=$(go env GOVERSION)"
	--version "Apache Kafka=$kafka_version (KRaft, one node)"
	--version "Mosquitto=$(dpkg-query -W -f '${Version}' mosquitto 2>/dev/null || echo unknown) (Debian)"
	--version "RabbitMQ=$(dpkg-query -W -f '${Version}' rabbitmq-server 2>/dev/null || echo unknown) (Debian), Erlang $(dpkg-query -W -f '${Version}' erlang-base 2>/dev/null || echo unknown)"
)
if [[ ${BENCH_PULSAR:-1} != 0 ]]; then
	versions+=(--version "Apache Pulsar=$pulsar_version (standalone; the Java client is its pulsar-client-original)")
fi
[[ ${BENCH_ROCKETMQ:-1} == 0 ]] || versions+=(--version "Apache RocketMQ=${ROCKETMQ_VERSION:-5.1.4} (name server and broker from Maven Central)")
versions+=(--version "Java=$(java -version 2>&1 | head -1)")
cmd=scripts/bench.sh
[[ $quick == 1 ]] && cmd="BENCH_QUICK=1 scripts/bench.sh"
notes=(
	--note "Rounds: $rounds. Kafka: $((kbytes >> 20)) MiB produced per run and size. MQTT fan-in: $mqtt_total messages per scenario split over its publishers; fan-out: $mqtt_msgs messages to each of 10 subscribers. AMQP: $amqp_n messages per run. Latency: 10,000 msg/s for $secs s per round. Idle connections: $idle, $idle_active of them then publishing (issue 18 asks for 200,000: this machine's hard limit on open files is $fd_limit (\`ulimit -Hn\`) and the run $sys_resource; a server process holds a socket per connection, so no server here can hold more than $fd_limit connections)."
	--note "Many topics: $mt_topics topics of 10 partitions on the gateway/embedded and Kafka; $mt_pulsar_topics on gateway/pulsar (a standalone Pulsar on this machine does not take 10,000 partitions in a benchmark's time)."
	--note "Every number of this page, as the load programs wrote it: [benchmarks/results.jsonl](benchmarks/results.jsonl)."
)
log "writing $out/benchmarks.md"
(cd scripts/bench && go run . -in "$results" -out "$out/benchmarks.md" -charts "$out/benchmarks" -command "$cmd" \
	-elapsed "$((SECONDS - started))s" -ref gateway/pulsar=pulsar-java "${versions[@]}" "${notes[@]}" "${missing[@]}")
cp "$results" "$out/benchmarks/results.jsonl"
