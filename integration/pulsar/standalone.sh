#!/usr/bin/env bash
# Run a real Apache Pulsar standalone broker (broker + 1 bookie + RocksDB metadata, one JVM)
# without docker, from jars Maven resolves from Maven Central.
#
#   standalone.sh start [--fresh]   start in the background, wait until it serves, print URLs
#   standalone.sh stop              SIGTERM, bounded wait, then SIGKILL (idempotent)
#   standalone.sh status            exit 0 if the broker is serving
#   standalone.sh urls              print PULSAR_URL / PULSAR_ADMIN_URL
#
# Secure mode (`start --secure`, or PULSAR_SECURE=1 for every command): TLS-only ports (6651,
# 8443), token and TLS client-certificate authentication, authorization on. A CA, a broker
# certificate for 127.0.0.1/localhost, a client certificate (role gateway-client), a token secret
# key and an admin token (role admin) are generated into $PULSAR_DATA/secure on the first start.
# Prints also PULSAR_TLS_CA, PULSAR_TOKEN_FILE, PULSAR_TOKEN_SECRET_KEY, PULSAR_TLS_CLIENT_CERT
# and PULSAR_TLS_CLIENT_KEY. Its defaults (data folder, ports) differ, so it runs beside the plain one.
#
# Environment (all optional):
#   PULSAR_VERSION        broker version (default 4.0.7)
#   PULSAR_HOME           jar cache (default ~/.cache/pulsar-gateway/pulsar-$PULSAR_VERSION)
#   PULSAR_DATA           data, pid, log, generated config (default /tmp/pulsar-gateway-standalone)
#   PULSAR_PORT           binary protocol port (default 6650)
#   PULSAR_HTTP_PORT      admin/http port (default 8080)
#   PULSAR_START_TIMEOUT  seconds to wait for readiness (default 180)
#   PULSAR_JAVA_OPTS      heap settings (default -Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g)
#   JAVA_HOME             java to use (else `java` on PATH; Java 17+)
set -euo pipefail
for a in "$@"; do [[ $a == --secure ]] && PULSAR_SECURE=1; done
SECURE=${PULSAR_SECURE:-0}
[[ $SECURE == 1 ]] || SECURE=0
# shellcheck source=../service.sh
source "$(dirname "${BASH_SOURCE[0]}")/../service.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PULSAR_VERSION=${PULSAR_VERSION:-4.0.7}
PULSAR_HOME=${PULSAR_HOME:-$HOME/.cache/pulsar-gateway/pulsar-$PULSAR_VERSION}
if [[ $SECURE == 1 ]]; then
  PULSAR_DATA=${PULSAR_DATA:-/tmp/pulsar-gateway-standalone-secure}
  PULSAR_PORT=${PULSAR_PORT:-6651}
  PULSAR_HTTP_PORT=${PULSAR_HTTP_PORT:-8443}
else
  PULSAR_DATA=${PULSAR_DATA:-/tmp/pulsar-gateway-standalone}
  PULSAR_PORT=${PULSAR_PORT:-6650}
  PULSAR_HTTP_PORT=${PULSAR_HTTP_PORT:-8080}
fi
PULSAR_START_TIMEOUT=${PULSAR_START_TIMEOUT:-180}
PULSAR_STOP_TIMEOUT=${PULSAR_STOP_TIMEOUT:-30}
PULSAR_JAVA_OPTS=${PULSAR_JAVA_OPTS:--Xms256m -Xmx1g -XX:MaxDirectMemorySize=1g}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
SETSID=$(command -v setsid || true)

LIB=$PULSAR_HOME/lib
PID_FILE=$PULSAR_DATA/pulsar.pid
LOG_FILE=$PULSAR_DATA/pulsar.log
ADMIN_URL=http://127.0.0.1:$PULSAR_HTTP_PORT
SEC=$PULSAR_DATA/secure
[[ $SECURE == 1 ]] && ADMIN_URL=https://127.0.0.1:$PULSAR_HTTP_PORT

log() { echo "standalone.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# On failure: the errors first (the root cause is often far above the tail), then the tail.
show_log() {
  { grep -E ' ERROR |^Caused by' "$LOG_FILE" | grep -v lastMark | head -n 20
    echo "--- last lines of $LOG_FILE ---"
    tail -n 30 "$LOG_FILE"; } >&2 || true
}

urls() {
  if [[ $SECURE == 1 ]]; then
    echo "PULSAR_URL=pulsar+ssl://127.0.0.1:$PULSAR_PORT"
    echo "PULSAR_ADMIN_URL=$ADMIN_URL"
    echo "PULSAR_TLS_CA=$SEC/ca.pem"
    echo "PULSAR_TOKEN_FILE=$SEC/admin.jwt"
    echo "PULSAR_TOKEN_SECRET_KEY=$SEC/secret.key"
    echo "PULSAR_TLS_CLIENT_CERT=$SEC/client.pem"
    echo "PULSAR_TLS_CLIENT_KEY=$SEC/client.key"
    return
  fi
  echo "PULSAR_URL=pulsar://127.0.0.1:$PULSAR_PORT"
  echo "PULSAR_ADMIN_URL=$ADMIN_URL"
}

# http_get URL: print the body, fail unless HTTP 2xx. Uses curl, else python3, else bash /dev/tcp
# (CI images do not always ship curl).
http_get() {
  if [[ $SECURE == 1 ]]; then # curl only: it trusts our CA and sends the admin token
    curl -fsS --max-time 5 --cacert "$SEC/ca.pem" -H "Authorization: Bearer $(<"$SEC/admin.jwt")" "$1" 2>/dev/null
  elif command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 "$1" 2>/dev/null
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys,urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1" 2>/dev/null
  else # bash /dev/tcp, HTTP/1.0 so the server closes the connection after the body
    local rest=${1#http://}
    local hostport=${rest%%/*} path=/${rest#*/}
    (
      exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || exit 1
      printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
      resp=$(timeout 5 cat <&3) || exit 1
      [[ $resp =~ ^HTTP/1\.[01]\ 2[0-9][0-9] ]] || exit 1
      printf '%s' "${resp#*$'\r\n\r\n'}"
    ) 2>/dev/null
  fi
}

# Serving = health check says ok AND the starter has created public/default (it does that after
# the broker is already up, so health alone is not enough).
ready() {
  [[ $(http_get "$ADMIN_URL/admin/v2/brokers/health") == ok ]] &&
    http_get "$ADMIN_URL/admin/v2/namespaces/public/default" >/dev/null
}

# Our broker's pid if it is alive. Checks the command line so a recycled pid is never signalled.
running_pid() { pid_matching 'PulsarStandaloneStarter'; }

# Resolve the broker's runtime jars once per version into $LIB (a marker file means complete).
ensure_jars() {
  resolve_jars "$HERE/pom.xml" "$PULSAR_HOME" "$LIB" "org.apache.pulsar:pulsar-broker:$PULSAR_VERSION" \
    -Dpulsar.version="$PULSAR_VERSION"
}

# Secure mode's keys, once per data folder: a CA, the broker's certificate (127.0.0.1 and
# localhost), a client certificate whose CN is a super-user role, and an HS256 secret key with an
# admin token made by Pulsar's own TokensCliUtils (so the broker surely accepts it).
make_secrets() {
  [[ -s $SEC/admin.jwt ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl not found (secure mode makes certificates with it)"
  command -v curl >/dev/null 2>&1 || die "curl not found (secure mode checks readiness with it)"
  mkdir -p "$SEC"
  (
    cd "$SEC"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=pulsar-gateway test CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem \
      -days 3650 -extfile broker.ext
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=gateway-client"
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem \
      -days 3650 -extfile client.ext
  ) >"$SEC/openssl.log" 2>&1 || { cat "$SEC/openssl.log" >&2; die "openssl failed"; }
  local tokens=("$JAVA" -cp "$LIB/*" org.apache.pulsar.utils.auth.tokens.TokensCliUtils)
  "${tokens[@]}" create-secret-key --output "$SEC/secret.key" >/dev/null 2>>"$SEC/tokens.log" &&
    "${tokens[@]}" create --secret-key "file://$SEC/secret.key" --subject admin >"$SEC/admin.jwt.tmp" 2>>"$SEC/tokens.log" ||
    { cat "$SEC/tokens.log" >&2; die "TokensCliUtils failed"; }
  tr -d '\n' <"$SEC/admin.jwt.tmp" >"$SEC/admin.jwt" && rm -f "$SEC/admin.jwt.tmp"
  chmod 600 "$SEC"/*.key "$SEC/admin.jwt"
}

# Secure mode's broker settings, appended to the generated config (keys the committed file does
# not have, so nothing is duplicated): TLS-only ports, both authentication providers, authorization
# with the admin token's and the client certificate's roles as super users, and the broker's own
# client (transaction coordinator, system topics) over TLS with the admin token.
secure_config() {
  cat <<CONF

### Secure mode (standalone.sh --secure)
brokerServicePortTls=$PULSAR_PORT
webServicePortTls=$PULSAR_HTTP_PORT
tlsCertificateFilePath=$SEC/broker.pem
tlsKeyFilePath=$SEC/broker.key
tlsTrustCertsFilePath=$SEC/ca.pem
tlsAllowInsecureConnection=false
tlsRequireTrustedClientCertOnConnect=false
authenticationEnabled=true
authenticationProviders=org.apache.pulsar.broker.authentication.AuthenticationProviderToken,org.apache.pulsar.broker.authentication.AuthenticationProviderTls
tokenSecretKey=file://$SEC/secret.key
authorizationEnabled=true
superUserRoles=admin,gateway-client
brokerClientTlsEnabled=true
brokerClientTrustCertsFilePath=$SEC/ca.pem
brokerClientAuthenticationPlugin=org.apache.pulsar.client.impl.auth.AuthenticationToken
brokerClientAuthenticationParameters=file://$SEC/admin.jwt
CONF
}

# Generated per run into $PULSAR_DATA: the committed standalone.conf with the ports substituted
# (substitute, don't append: the bookie reads this file with commons-configuration, which turns
# duplicate keys into lists) and a log4j2 config (the jars carry none).
write_config() {
  local port=$PULSAR_PORT http=$PULSAR_HTTP_PORT
  [[ $SECURE == 1 ]] && port= http= # no plain ports: the TLS ones below
  sed -e "s/^brokerServicePort=.*/brokerServicePort=$port/" \
      -e "s/^webServicePort=.*/webServicePort=$http/" \
      "$HERE/standalone.conf" >"$PULSAR_DATA/standalone.conf"
  if [[ $SECURE == 1 ]]; then secure_config >>"$PULSAR_DATA/standalone.conf"; fi
  cat >"$PULSAR_DATA/log4j2.xml" <<'EOF'
<Configuration status="warn">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="%d{HH:mm:ss.SSS} %-5level [%t] %c{1} - %msg%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.bookkeeper" level="warn"/>
    <Logger name="org.apache.pulsar.metadata" level="warn"/>
    <Logger name="org.eclipse.jetty" level="warn"/>
    <Root level="info"><AppenderRef ref="out"/></Root>
  </Loggers>
</Configuration>
EOF
}

start() {
  local fresh=false pid t0
  [[ ${1:-} == --fresh ]] && fresh=true
  if pid=$(running_pid); then
    log "already running (pid $pid)"
  else
    if [[ $SECURE == 1 ]]; then ensure_jars; mkdir -p "$PULSAR_DATA"; make_secrets; fi
    # Someone else on our port would make the readiness check lie.
    if http_get "$ADMIN_URL/admin/v2/brokers/health" >/dev/null; then
      die "port $PULSAR_HTTP_PORT already serves something that is not our broker"
    fi
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17+ needed)"
    local jv
    jv=$("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    (( ${jv%%.*} >= 17 )) || die "Java 17+ needed, $JAVA is $jv"
    ensure_jars
    # Make the folders ourselves: --wipe-data fails when the bookie folder does not exist.
    $fresh && rm -rf "$PULSAR_DATA/metadata" "$PULSAR_DATA/bookkeeper"
    mkdir -p "$PULSAR_DATA/metadata" "$PULSAR_DATA/bookkeeper"
    write_config
    # JVM flags as in Pulsar's bin/pulsar (Netty/BookKeeper/ZooKeeper reflection on Java 17+).
    # --metadata-url rocksdb://: metadata in RocksDB, no ZooKeeper. --zookeeper-dir points at a
    # folder that never exists: if it existed the starter would switch to ZooKeeper mode.
    # cd into $PULSAR_DATA so any relative default path of the starter lands there.
    # All fds redirected: the caller's pipes (e.g. a Go test's exec.Cmd) are not held open.
    # setsid: own session, so a Ctrl-C/SIGHUP meant for the caller does not reach it. (Without job
    # control, as in a script, the subshell is no group leader, so setsid does not fork and $! is
    # the java pid.)
    # shellcheck disable=SC2086
    (cd "$PULSAR_DATA" && exec $SETSID "$JAVA" $PULSAR_JAVA_OPTS \
      -XX:+PerfDisableSharedMem \
      --add-opens java.base/java.io=ALL-UNNAMED \
      --add-opens java.base/java.util.zip=ALL-UNNAMED \
      --add-opens java.base/java.nio=ALL-UNNAMED \
      --add-opens java.base/jdk.internal.misc=ALL-UNNAMED \
      --add-opens java.base/sun.net=ALL-UNNAMED \
      --add-opens java.base/jdk.internal.platform=ALL-UNNAMED \
      --add-opens java.management/sun.management=ALL-UNNAMED \
      --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED \
      -Dio.netty.tryReflectionSetAccessible=true \
      -Djute.maxbuffer=10485760 \
      -Djava.net.preferIPv4Stack=true \
      -Dlog4j.configurationFile="$PULSAR_DATA/log4j2.xml" \
      -cp "$LIB/*" org.apache.pulsar.PulsarStandaloneStarter \
      --config "$PULSAR_DATA/standalone.conf" -nfw -nss -a 127.0.0.1 \
      --metadata-url "rocksdb://$PULSAR_DATA/metadata" \
      --zookeeper-dir "$PULSAR_DATA/zookeeper-unused" \
      --bookkeeper-dir "$PULSAR_DATA/bookkeeper" \
      </dev/null >"$LOG_FILE" 2>&1) &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "started pid $pid, log $LOG_FILE"
  fi
  wait_ready "$pid" "$PULSAR_START_TIMEOUT"
  urls
}

stop() { stop_service 'PulsarStandaloneStarter' "$PULSAR_STOP_TIMEOUT"; }

status() {
  if running_pid >/dev/null && ready; then
    urls
  else
    log "not serving"
    return 1
  fi
}

case ${1:-} in
  start) shift; [[ ${1:-} == --secure ]] && shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  urls) urls ;;
  *) echo "usage: $0 start [--secure] [--fresh] | stop | status | urls" >&2; exit 2 ;;
esac
