#!/usr/bin/env bash
# Run a real Apache RocketMQ (one name server JVM + one broker JVM, remoting protocol) without
# docker, from jars Maven resolves from Maven Central (pom.xml beside this script). The reference
# for the gateway's RocketMQ handler: same clients, same scenarios, compare.
#
#   rocketmq.sh start [--fresh]   start both in the background, wait until the broker has
#                                 registered with the name server, print
#                                 ROCKETMQ_NAMESRV=127.0.0.1:PORT and ROCKETMQ_BROKER=127.0.0.1:PORT
#   rocketmq.sh stop              SIGTERM, bounded wait, then SIGKILL, broker first (idempotent)
#   rocketmq.sh status            exit 0 (and print the addresses) if the broker is registered
#   rocketmq.sh addrs             print the addresses
#   rocketmq.sh classpath         print the jar classpath (client, tools, broker classes)
#   rocketmq.sh admin ARGS...     run mqadmin against our name server, e.g. `admin clusterList`
#                                 or `admin updateTopic -c DefaultCluster -t T -r 4 -w 4`
#
# Ports: the name server listens on ROCKETMQ_NAMESRV_PORT (default 9876); the broker on
# ROCKETMQ_BROKER_PORT (default 10911) and, as RocketMQ always does, also on PORT-2 (the "VIP"
# channel) and PORT+1 (HA). When a default port is taken and the variable is not set, the next
# free one in steps of 10 is used (HA's PORT+1 binds all addresses, RocketMQ has no setting for
# it; everything else binds 127.0.0.1); the chosen ports are kept in $ROCKETMQ_DATA/ports.env, so
# `status`, `addrs` and `admin` find them.
#
# Environment (all optional):
#   ROCKETMQ_VERSION        version (default 5.1.4)
#   ROCKETMQ_HOME           jar cache (default ~/.cache/pulsar-gateway/rocketmq-$ROCKETMQ_VERSION)
#   ROCKETMQ_DATA           store, logs, pids, generated config (default /tmp/pulsar-gateway-rocketmq)
#   ROCKETMQ_NAMESRV_PORT   name server port (default 9876, or the next free one)
#   ROCKETMQ_BROKER_PORT    broker port (default 10911, or the next free one)
#   ROCKETMQ_START_TIMEOUT  seconds to wait for readiness (default 120)
#   ROCKETMQ_NAMESRV_JAVA_OPTS  (default -Xms64m -Xmx256m)
#   ROCKETMQ_BROKER_JAVA_OPTS   (default -Xms256m -Xmx512m -XX:MaxDirectMemorySize=512m)
#   JAVA_HOME               java to use (else `java` on PATH; RocketMQ 5.1 runs on 8..17)
#   ROCKETMQ_BROKER_EXTRA_CONF  lines appended to the generated broker.conf, e.g.
#                           'enablePropertyFilter=true' (SQL92 subscriptions; the acceptance suite's
#                           reference run sets it)
set -euo pipefail
# shellcheck source=../service.sh
source "$(dirname "${BASH_SOURCE[0]}")/../service.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROCKETMQ_VERSION=${ROCKETMQ_VERSION:-5.1.4}
ROCKETMQ_HOME=${ROCKETMQ_HOME:-$HOME/.cache/pulsar-gateway/rocketmq-$ROCKETMQ_VERSION}
ROCKETMQ_DATA=${ROCKETMQ_DATA:-/tmp/pulsar-gateway-rocketmq}
ROCKETMQ_START_TIMEOUT=${ROCKETMQ_START_TIMEOUT:-120}
ROCKETMQ_STOP_TIMEOUT=${ROCKETMQ_STOP_TIMEOUT:-30}
ROCKETMQ_NAMESRV_JAVA_OPTS=${ROCKETMQ_NAMESRV_JAVA_OPTS:--Xms64m -Xmx256m}
ROCKETMQ_BROKER_JAVA_OPTS=${ROCKETMQ_BROKER_JAVA_OPTS:--Xms256m -Xmx512m -XX:MaxDirectMemorySize=512m}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
SETSID=$(command -v setsid || true)

LIB=$ROCKETMQ_HOME/lib
PORTS_FILE=$ROCKETMQ_DATA/ports.env
NAMESRV_PID=$ROCKETMQ_DATA/namesrv.pid
BROKER_PID=$ROCKETMQ_DATA/broker.pid
NAMESRV_LOG=$ROCKETMQ_DATA/namesrv.out
BROKER_LOG=$ROCKETMQ_DATA/broker.out
CLUSTER=DefaultCluster
BROKER_NAME=broker-a

log() { echo "rocketmq.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Ports chosen by an earlier start win (the JVMs may still be running on them); then the
# environment; then the defaults, moved up in steps of 10 while taken. The broker needs three:
# PORT-2, PORT and PORT+1.
load_ports() {
  if [[ -f $PORTS_FILE ]]; then
    # shellcheck disable=SC1090
    source "$PORTS_FILE"
  fi
  NAMESRV_PORT=${ROCKETMQ_NAMESRV_PORT:-${NAMESRV_PORT:-9876}}
  BROKER_PORT=${ROCKETMQ_BROKER_PORT:-${BROKER_PORT:-10911}}
}

choose_ports() {
  local i
  NAMESRV_PORT=${ROCKETMQ_NAMESRV_PORT:-9876}
  BROKER_PORT=${ROCKETMQ_BROKER_PORT:-10911}
  if [[ -z ${ROCKETMQ_NAMESRV_PORT:-} ]]; then
    for ((i = 0; i < 50; i++)); do
      port_open "$NAMESRV_PORT" || break
      NAMESRV_PORT=$((NAMESRV_PORT + 10))
    done
  fi
  if [[ -z ${ROCKETMQ_BROKER_PORT:-} ]]; then
    for ((i = 0; i < 50; i++)); do
      port_open $((BROKER_PORT - 2)) || port_open "$BROKER_PORT" || port_open $((BROKER_PORT + 1)) || break
      BROKER_PORT=$((BROKER_PORT + 10))
    done
  fi
  port_open "$NAMESRV_PORT" && die "name server port $NAMESRV_PORT is taken"
  if port_open $((BROKER_PORT - 2)) || port_open "$BROKER_PORT" || port_open $((BROKER_PORT + 1)); then
    die "broker port $BROKER_PORT (or $((BROKER_PORT - 2))/$((BROKER_PORT + 1))) is taken"
  fi
  printf 'NAMESRV_PORT=%s\nBROKER_PORT=%s\n' "$NAMESRV_PORT" "$BROKER_PORT" >"$PORTS_FILE"
}

addrs() {
  echo "ROCKETMQ_NAMESRV=127.0.0.1:$NAMESRV_PORT"
  echo "ROCKETMQ_BROKER=127.0.0.1:$BROKER_PORT"
  echo "ROCKETMQ_CLUSTER=$CLUSTER"
  echo "ROCKETMQ_BROKER_NAME=$BROKER_NAME"
}

show_log() {
  local f
  for f in "$NAMESRV_LOG" "$BROKER_LOG" "$ROCKETMQ_DATA/logs/rocketmqlogs/broker.log"; do
    [[ -f $f ]] || continue
    { grep -E ' ERROR |^Caused by|Exception' "$f" | head -n 20
      echo "--- last lines of $f ---"
      tail -n 20 "$f"; } >&2 || true
  done
}

# remoting_request CODE: send one RocketMQ remoting request with an empty body and a JSON header
# to the name server (frame: int32 total length, int32 header length whose high byte is the
# serialize type, 0 = JSON, then the header) and print what came back within 2 s, as text.
remoting_request() {
  local hdr len
  hdr="{\"code\":$1,\"flag\":0,\"language\":\"JAVA\",\"opaque\":1,\"serializeTypeCurrentRPC\":\"JSON\",\"version\":453}"
  len=${#hdr}
  (
    exec 3<>"/dev/tcp/127.0.0.1/$NAMESRV_PORT" || exit 1
    # shellcheck disable=SC2059
    printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x%02x\\x%02x\\x%02x' \
      $(((len + 4) >> 24 & 255)) $(((len + 4) >> 16 & 255)) $(((len + 4) >> 8 & 255)) $(((len + 4) & 255)) \
      $((len >> 16 & 255)) $((len >> 8 & 255)) $((len & 255)))" >&3
    printf '%s' "$hdr" >&3
    timeout 2 cat <&3 | tr -c '[:print:]' '.'
  ) 2>/dev/null || true
}

# Ready = the name server's cluster info (GET_BROKER_CLUSTER_INFO, code 106) lists our broker's
# address, i.e. the broker has started and registered. This is what clients' route lookups see.
ready() {
  port_open "$NAMESRV_PORT" && port_open "$BROKER_PORT" &&
    remoting_request 106 | grep -qF "\"127.0.0.1:$BROKER_PORT\""
}

namesrv_running() { PID_FILE=$NAMESRV_PID pid_matching 'NamesrvStartup'; }
broker_running() { PID_FILE=$BROKER_PID pid_matching 'BrokerStartup'; }

ensure_jars() {
  resolve_jars "$HERE/pom.xml" "$ROCKETMQ_HOME" "$LIB" "org.apache.rocketmq:rocketmq-broker:$ROCKETMQ_VERSION" \
    -Drocketmq.version="$ROCKETMQ_VERSION"
}

write_config() {
  cat >"$ROCKETMQ_DATA/namesrv.properties" <<PROPS
listenPort=$NAMESRV_PORT
bindAddress=127.0.0.1
PROPS
  # Defaults everywhere a client could notice (flushDiskType ASYNC_FLUSH, 4 queues for an
  # auto-created topic, delay levels 1s 5s 10s 30s 1m ... 2h, timer wheel for 5.x delivery time),
  # except what a test machine needs: loopback only, auto-creation on, store under the data dir.
  cat >"$ROCKETMQ_DATA/broker.conf" <<PROPS
brokerClusterName=$CLUSTER
brokerName=$BROKER_NAME
brokerId=0
brokerRole=ASYNC_MASTER
namesrvAddr=127.0.0.1:$NAMESRV_PORT
brokerIP1=127.0.0.1
listenPort=$BROKER_PORT
bindAddress=127.0.0.1
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
storePathRootDir=$ROCKETMQ_DATA/store
storePathCommitLog=$ROCKETMQ_DATA/store/commitlog
deleteWhen=04
fileReservedTime=48
PROPS
  if [[ -n ${ROCKETMQ_BROKER_EXTRA_CONF:-} ]]; then
    printf '%s\n' "$ROCKETMQ_BROKER_EXTRA_CONF" >>"$ROCKETMQ_DATA/broker.conf"
  fi
}

# java_run MAIN OPTS LOG: one RocketMQ JVM in the background, its own session, all fds redirected
# (the caller's pipes are not held open). user.home = the data dir: RocketMQ's logback configs
# write to ${user.home}/logs/rocketmqlogs and the name server keeps its kv config there.
# Prints the pid.
java_run() {
  local main=$1 opts=$2 out=$3
  shift 3
  # shellcheck disable=SC2086
  (cd "$ROCKETMQ_DATA" && exec $SETSID "$JAVA" $opts -XX:+PerfDisableSharedMem \
    -Djava.net.preferIPv4Stack=true \
    -Duser.home="$ROCKETMQ_DATA" \
    -Drocketmq.home.dir="$ROCKETMQ_DATA" \
    --add-opens java.base/java.nio=ALL-UNNAMED \
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
    --add-opens java.base/java.lang=ALL-UNNAMED \
    --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
    -cp "$LIB/*" "$main" "$@" \
    </dev/null >"$out" 2>&1) &
  echo $!
}

start() {
  local fresh=false pid
  [[ ${1:-} == --fresh ]] && fresh=true
  mkdir -p "$ROCKETMQ_DATA"
  if namesrv_running >/dev/null && broker_running >/dev/null; then
    load_ports
    log "already running (name server pid $(namesrv_running), broker pid $(broker_running))"
    pid=$(broker_running)
  else
    # A half-started pair (one JVM died) is restarted whole.
    if namesrv_running >/dev/null || broker_running >/dev/null; then stop_both; fi
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found"
    ensure_jars
    choose_ports
    $fresh && rm -rf "$ROCKETMQ_DATA/store" "$ROCKETMQ_DATA/logs" "$ROCKETMQ_DATA/namesrv"
    write_config
    pid=$(java_run org.apache.rocketmq.namesrv.NamesrvStartup "$ROCKETMQ_NAMESRV_JAVA_OPTS" "$NAMESRV_LOG" \
      -c "$ROCKETMQ_DATA/namesrv.properties")
    echo "$pid" >"$NAMESRV_PID"
    log "name server pid $pid on 127.0.0.1:$NAMESRV_PORT, log $NAMESRV_LOG"
    pid=$(java_run org.apache.rocketmq.broker.BrokerStartup "$ROCKETMQ_BROKER_JAVA_OPTS" "$BROKER_LOG" \
      -c "$ROCKETMQ_DATA/broker.conf")
    echo "$pid" >"$BROKER_PID"
    log "broker pid $pid on 127.0.0.1:$BROKER_PORT, logs $BROKER_LOG and $ROCKETMQ_DATA/logs/rocketmqlogs"
  fi
  # wait_ready watches the broker's pid; the name server dying shows up as never ready. Whatever
  # way it fails (it exits the script), neither JVM is left behind.
  trap stop_both EXIT
  PID_FILE=$BROKER_PID wait_ready "$pid" "$ROCKETMQ_START_TIMEOUT"
  trap - EXIT
  addrs
}

# Broker first: it unregisters from the name server on shutdown.
stop_both() {
  PID_FILE=$BROKER_PID stop_service 'BrokerStartup' "$ROCKETMQ_STOP_TIMEOUT"
  PID_FILE=$NAMESRV_PID stop_service 'NamesrvStartup' "$ROCKETMQ_STOP_TIMEOUT"
}
stop() { stop_both; }

status() {
  load_ports
  if namesrv_running >/dev/null && broker_running >/dev/null && ready; then
    addrs
  else
    log "not serving"
    return 1
  fi
}

# mqadmin with logging off: the jars' logback configs print their own status to stdout, which
# would mix with the command's table.
admin() {
  ensure_jars
  load_ports
  mkdir -p "$ROCKETMQ_DATA"
  echo '<configuration><root level="OFF"/></configuration>' >"$ROCKETMQ_DATA/tools.logback.xml"
  "$JAVA" -Duser.home="$ROCKETMQ_DATA" -Drocketmq.home.dir="$ROCKETMQ_DATA" \
    -Drmq.logback.configurationFile="$ROCKETMQ_DATA/tools.logback.xml" \
    -cp "$LIB/*" org.apache.rocketmq.tools.command.MQAdminStartup "$@" -n "127.0.0.1:$NAMESRV_PORT"
}

case ${1:-} in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  addrs) load_ports; addrs ;;
  classpath) ensure_jars; echo "$LIB/*" ;;
  admin) shift; admin "$@" ;;
  *) echo "usage: $0 start [--fresh] | stop | status | addrs | classpath | admin ARGS..." >&2; exit 2 ;;
esac
