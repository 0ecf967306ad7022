#!/usr/bin/env bash
# Run a real Apache Kafka broker (KRaft combined mode: broker + controller in one JVM) without
# docker, from jars Maven resolves from Maven Central (kraft/pom.xml). Used as the reference
# in integration/kafka/bench and for the Java CLI tools against the gateway.
#
#   kraft.sh start [--fresh]   format (first time) and start in the background, wait until it
#                              serves, print KAFKA_BOOTSTRAP=...
#   kraft.sh stop              SIGTERM, bounded wait, then SIGKILL (idempotent)
#   kraft.sh status            exit 0 if the broker is serving
#   kraft.sh classpath         print the jar classpath (for kafka.tools / org.apache.kafka.tools)
#
# Environment (all optional):
#   KAFKA_VERSION        broker version (default 4.0.0)
#   KAFKA_HOME           jar cache (default ~/.cache/pulsar-gateway/kafka-$KAFKA_VERSION)
#   KAFKA_DATA           data, pid, log, generated config (default /tmp/pulsar-gateway-kraft)
#   KAFKA_PORT           client listener port (default 19092)
#   KAFKA_CONTROLLER_PORT controller listener port (default 19093)
#   KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)
#   KAFKA_JAVA_OPTS      heap settings (default -Xms256m -Xmx1g)
#   JAVA_HOME            java to use (else `java` on PATH; Java 17+)
set -euo pipefail
# shellcheck source=../service.sh
source "$(dirname "${BASH_SOURCE[0]}")/../service.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.0.0}
KAFKA_HOME=${KAFKA_HOME:-$HOME/.cache/pulsar-gateway/kafka-$KAFKA_VERSION}
KAFKA_DATA=${KAFKA_DATA:-/tmp/pulsar-gateway-kraft}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
KAFKA_JAVA_OPTS=${KAFKA_JAVA_OPTS:--Xms256m -Xmx1g}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
SETSID=$(command -v setsid || true)

LIB=$KAFKA_HOME/lib
PID_FILE=$KAFKA_DATA/kafka.pid
LOG_FILE=$KAFKA_DATA/kafka.log
BOOTSTRAP=127.0.0.1:$KAFKA_PORT

log() { echo "kraft.sh: $*" >&2; }
die() { log "$*"; exit 1; }

show_log() {
  { grep -E ' ERROR |^Caused by|Exception' "$LOG_FILE" | head -n 20
    echo "--- last lines of $LOG_FILE ---"
    tail -n 30 "$LOG_FILE"; } >&2 || true
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Serving = the broker logged that it finished starting and accepts connections. (An
# ApiVersions round trip would need a client; the log line comes after the listeners are up.)
ready() {
  port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null
}

running_pid() { pid_matching 'kafka\.Kafka '; }

ensure_jars() {
  resolve_jars "$HERE/kraft/pom.xml" "$KAFKA_HOME" "$LIB" "org.apache.kafka:kafka_2.13:$KAFKA_VERSION" \
    -Dkafka.version="$KAFKA_VERSION"
}

write_config() {
  cat >"$KAFKA_DATA/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA/kraft-logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat >"$KAFKA_DATA/log4j2.xml" <<'XML'
<Configuration status="warn">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="info"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
XML
}

java_run() {
  # shellcheck disable=SC2086
  "$JAVA" -Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.xml" -cp "$LIB/*" "$@"
}

start() {
  local fresh=false pid t0
  [[ ${1:-} == --fresh ]] && fresh=true
  if pid=$(running_pid); then
    log "already running (pid $pid)"
  else
    if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
      die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT already in use by something that is not our broker"
    fi
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17+ needed)"
    ensure_jars
    $fresh && rm -rf "$KAFKA_DATA/kraft-logs"
    mkdir -p "$KAFKA_DATA"
    write_config
    # Format once: meta.properties marks a formatted log dir. The storage tool calls exit, so it
    # runs as its own process.
    if [[ ! -f $KAFKA_DATA/kraft-logs/meta.properties ]]; then
      local id
      id=$(java_run kafka.tools.StorageTool random-uuid 2>"$KAFKA_DATA/format.log" | tail -n1)
      [[ -n $id ]] || { cat "$KAFKA_DATA/format.log" >&2; die "StorageTool random-uuid failed"; }
      java_run kafka.tools.StorageTool format -t "$id" -c "$KAFKA_DATA/server.properties" \
        >>"$KAFKA_DATA/format.log" 2>&1 || { cat "$KAFKA_DATA/format.log" >&2; die "StorageTool format failed"; }
      log "formatted $KAFKA_DATA/kraft-logs (cluster id $id)"
    fi
    : >"$LOG_FILE"
    # All fds redirected and own session, as standalone.sh does for Pulsar.
    # shellcheck disable=SC2086
    (cd "$KAFKA_DATA" && exec $SETSID "$JAVA" $KAFKA_JAVA_OPTS -XX:+PerfDisableSharedMem \
      -Djava.net.preferIPv4Stack=true \
      -Dlog4j2.configurationFile="$KAFKA_DATA/log4j2.xml" \
      -cp "$LIB/*" kafka.Kafka "$KAFKA_DATA/server.properties" \
      </dev/null >"$LOG_FILE" 2>&1) &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started pid $pid, log $LOG_FILE"
  fi
  wait_ready "$pid" "$KAFKA_START_TIMEOUT"
  echo "KAFKA_BOOTSTRAP=$BOOTSTRAP"
}

stop() { stop_service 'kafka\.Kafka ' "$KAFKA_STOP_TIMEOUT"; }

status() {
  if running_pid >/dev/null && ready; then
    echo "KAFKA_BOOTSTRAP=$BOOTSTRAP"
  else
    log "not serving"
    return 1
  fi
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  classpath) ensure_jars; echo "$LIB/*" ;;
  *) echo "usage: $0 start [--fresh] | stop | status | classpath" >&2; exit 2 ;;
esac
