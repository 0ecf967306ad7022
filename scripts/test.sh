#!/usr/bin/env bash
# The project's one test command: sets up what a fresh machine lacks, starts
# the real servers the tests talk to, runs every test, and stops the servers.
#
#   scripts/test.sh            everything (embedded and Pulsar backends)
#   PULSAR=0 scripts/test.sh   skip the Pulsar broker (tests that need it skip)
#
# Also used by .ci/run. Needs root (or sudo) only for missing Debian packages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "test.sh: $*" >&2; }

# Debian packages of the real clients and tools the tests use. Each is
# installed only when missing: a test whose tool is missing fails, never skips.
# mosquitto brings mosquitto_passwd (the password-file tests).
# python3-requests, -jsonschema, -protobuf: confluent-kafka's schema registry
# client and its JSON and Protobuf serializers; python3-pip fetches fastavro.
# bubblewrap: cmd/pulsar-gateway's TestDockerfile runs the image's binary as
# its non-root user on a read-only root without a docker engine.
DEBIAN_PACKAGES=(curl kcat python3-confluent-kafka python3-kafka mosquitto mosquitto-clients python3-paho-mqtt python3-pika amqp-tools
  python3-requests python3-jsonschema python3-protobuf python3-pip)
# prometheus brings promtool (the /metrics lint); chromium loads the web
# console's pages in the browser tests.
DEBIAN_PACKAGES+=(prometheus chromium)
DEBIAN_PACKAGES+=(bubblewrap)
# MQTT over WebSocket (integration/mqtt/test_websockets.py): MQTT.js in
# headless Chromium and in Node (npm below), the wss:// certificates by openssl.
DEBIAN_PACKAGES+=(openssl)
command -v node >/dev/null 2>&1 || DEBIAN_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || DEBIAN_PACKAGES+=(npm)
# The real RabbitMQ with its management plugin: integration/amqp/management.sh compares the
# gateway's management API with it and runs its rabbitmqadmin.
DEBIAN_PACKAGES+=(rabbitmq-server)
# A JDK with javac (the Java client tests compile their programs) and Maven
# (it fetches their jars below), unless they are on PATH already.
command -v javac >/dev/null 2>&1 || DEBIAN_PACKAGES+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || DEBIAN_PACKAGES+=(maven)
install_debian_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_debian_packages

# fastavro, which confluent-kafka's Avro serializer needs and Debian does not
# package: from PyPI into a cache folder that PYTHONPATH names.
PYLIB=${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-gateway/pylib
if ! PYTHONPATH=$PYLIB /usr/bin/python3 -c 'import fastavro' 2>/dev/null; then
  log "installing fastavro from PyPI into $PYLIB"
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --target "$PYLIB" fastavro==1.13.1
fi
export PYTHONPATH=$PYLIB${PYTHONPATH:+:$PYTHONPATH}

# MQTT.js (npm "mqtt", pinned) for the MQTT over WebSocket scenarios, in Node
# and, from its dist/ bundle, in the browser: into a cache folder that
# NODE_PATH names.
NODELIB=${XDG_CACHE_HOME:-$HOME/.cache}/pulsar-gateway/node
MQTTJS_VERSION=5.16.0
if [ "$(node -p 'require(process.argv[1] + "/package.json").version' "$NODELIB/node_modules/mqtt" 2>/dev/null)" != "$MQTTJS_VERSION" ]; then
  log "installing MQTT.js $MQTTJS_VERSION from npm into $NODELIB"
  mkdir -p "$NODELIB"
  npm install --prefix "$NODELIB" --no-audit --no-fund --silent "mqtt@$MQTTJS_VERSION"
fi
export NODE_PATH=$NODELIB/node_modules${NODE_PATH:+:$NODE_PATH}

# Kafka's own Java client, for integration/kafka (from Maven Central).
for artifact in org.apache.kafka:kafka-clients:4.4.0 org.slf4j:slf4j-nop:2.0.17; do
  mvn -B -q dependency:get -Dartifact="$artifact" >/dev/null
done
# RabbitMQ's Java client, for integration/amqp (slf4j-nop comes with Kafka's above).
mvn -B -q dependency:get -Dartifact=com.rabbitmq:amqp-client:5.25.0 >/dev/null
# RocketMQ's Java client 5.1.4 and its dependencies, for rocketmq/remoting's Java test.
mvn -B -q -f rocketmq/remoting/testdata/java/pom.xml dependency:build-classpath >/dev/null
# RocketMQ 5.1.4's filter module, for rocketmq/sqlfilter's test against the broker's own SQL92.
mvn -B -q -f rocketmq/sqlfilter/testdata/java/pom.xml dependency:build-classpath >/dev/null
# RocketMQ 5.1.4's jars (mqadmin's tools among them), for the rocketmq package's mqadmin test.
integration/rocketmq/rocketmq.sh classpath >/dev/null
# Kafka's jars, for its console tools in integration/kafka.
integration/kafka/kraft.sh classpath >/dev/null
# Kafka Streams and Kafka Connect jars, for integration/kafka/streams.
integration/kafka/streams/jars.sh >/dev/null

# The real Pulsar broker for bridge/pulsar and the integration tests on the
# Pulsar backend. Its data lives in a fresh folder of this run.
# Beside it, the same broker secured (standalone.sh --secure: TLS only,
# token and client-certificate logins, authorization), started at the same
# time; what it prints is exported with the PULSAR_SECURE_ prefix, which
# bridge/pulsar's TestSecure* read.
if [ "${PULSAR:-1}" != 0 ]; then
  export PULSAR_DATA=${PULSAR_DATA:-$(mktemp -d /tmp/pulsar-gateway-test.XXXXXX)}
  SECURE_DATA=$(mktemp -d /tmp/pulsar-gateway-test-secure.XXXXXX)
  trap 'integration/pulsar/standalone.sh stop || true; PULSAR_DATA=$SECURE_DATA integration/pulsar/standalone.sh stop --secure || true' EXIT
  PULSAR_DATA=$SECURE_DATA integration/pulsar/standalone.sh start --secure --fresh >"$SECURE_DATA/urls" &
  secure_pid=$!
  eval "$(integration/pulsar/standalone.sh start --fresh)"
  wait "$secure_pid"
  eval "$(sed 's/^PULSAR_/export PULSAR_SECURE_/' "$SECURE_DATA/urls")"
  log "secure Pulsar at $PULSAR_SECURE_URL ($PULSAR_SECURE_ADMIN_URL)"
  export PULSAR_URL PULSAR_ADMIN_URL
  # bridge/pulsar's restart test stops and starts a broker of its own.
  export PULSAR_RESTART_TEST=1
  log "Pulsar at $PULSAR_URL ($PULSAR_ADMIN_URL)"
fi

log "gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
log "go test -race"
# -p 1: one package at a time, so timing-sensitive tests are not starved on
# a 2-core machine; each package runs its own tests in parallel.
# -race: every package with concurrency runs under the race detector, so a
# data race fails the run instead of waiting for a user to hit it.
go test -race -count=1 -p 1 -timeout 35m ./...
# The idle-connection memory tests skip under the race detector (it makes
# goroutine stacks bigger, so their budgets would not hold): run them once
# without it, so a regression in memory per connection fails the run.
log "go test: idle-connection memory, without -race"
go test -count=1 -run '^TestIdle(Subscribed|WebSocket)?ConnectionMemory$' ./mqtt/

if [ -n "${PULSAR_SECURE_URL:-}" ]; then
  log "Kafka, MQTT and AMQP on the secure Pulsar: gateways whose pulsar: config is TLS + token"
  # The protocol packages' Pulsar subtests (Go clients on real sockets; their
  # backend from PULSAR_URL, PULSAR_TLS_CA and PULSAR_TOKEN_FILE, package
  # bridge/pulsar/pulsartest), and stock Kafka clients (kcat, confluent-kafka,
  # Kafka's Java client and tools) against the gateway binary, whose
  # pulsar.tls.ca_file and pulsar.auth_token_file come from the environment.
  # A representative subset (~40 s and ~35 s measured): each protocol's round trips,
  # restarts and state across gateways, and Kafka transactions on Pulsar's
  # coordinator (reached over the gateway's own TLS connections).
  secure_protocol_tests='^(TestTransactions|TestGroupAcrossGateways|TestIdempotentRetryAcrossGatewayCrash'
  secure_protocol_tests+='|TestRoundTripQoS3|TestRoundTripQoS5|TestRetainedAfterRestart|TestSharedSubscription|TestWildcards|TestTakeoverAcrossGateways'
  secure_protocol_tests+='|TestDefaultExchangeRoundTrip|TestExchangeTypes|TestConfirmsAndMandatoryReturn|TestDurableAcrossRestart|TestTTLAndDeadLetters|TestTxPublish|TestCrossProtocol)$/^pulsar'
  secure_client_tests='^(TestKcat|TestConfluentKafkaPython|TestJavaClient|TestKafkaTransactionsTool|TestKafkaAndMQTT)$/^pulsar$'
  (
    export PULSAR_URL=$PULSAR_SECURE_URL PULSAR_ADMIN_URL=$PULSAR_SECURE_ADMIN_URL
    export PULSAR_TLS_CA=$PULSAR_SECURE_TLS_CA PULSAR_TOKEN_FILE=$PULSAR_SECURE_TOKEN_FILE
    export PULSAR_GATEWAY_PULSAR_TLS_CA_FILE=$PULSAR_SECURE_TLS_CA PULSAR_GATEWAY_PULSAR_AUTH_TOKEN_FILE=$PULSAR_SECURE_TOKEN_FILE
    go test -race -count=1 -p 1 -timeout 10m -run "$secure_protocol_tests" ./kafka/ ./mqtt/ ./amqp/
    go test -race -count=1 -p 1 -timeout 10m -run "$secure_client_tests" ./integration/kafka/
    # The MQTT and AMQP scenarios with their real clients (mosquitto, paho,
    # pika, amqp-tools), Pulsar round only, and three gateways with one
    # killed (~40 s, ~30 s and ~80 s measured).
    EMBEDDED=0 integration/mqtt/run.sh
    EMBEDDED=0 integration/amqp/run.sh
    integration/many/run.sh
  )
fi

log "Kubernetes examples (deploy/): Kubernetes' API types and the gateway's config"
# A module of its own, so the gateway does not carry k8s.io/api.
(cd deploy/check && go vet ./... && go test -count=1 ./...)

log "benchmark page generator (scripts/bench): the page and charts from sample records, no measurement"
# A module of its own, so the gateway does not carry the plotting library.
(cd scripts/bench && go vet ./... && go test -count=1 ./...)

log "MQTT scenarios with mosquitto-clients and paho-mqtt (Python); over WebSocket with paho, MQTT.js (Node) and MQTT.js in headless Chromium"
integration/mqtt/run.sh

log "AMQP scenarios with pika and amqp-tools"
integration/amqp/run.sh

# ~30 s measured (15 s of them starting rabbitmq-server), ~45 s with the Pulsar round.
log "RabbitMQ management API: rabbitmqadmin, KEDA's requests, field by field against rabbitmq-server"
integration/amqp/management.sh

# ~100 s a backend and ~75 s for the reference measured.
log "RocketMQ scenarios with rocketmq-client-go and RocketMQ's Java client 5.1.4 on the gateway (embedded, then Pulsar), cross-protocol included"
integration/rocketmq/suite.sh gateway
log "RocketMQ scenarios against a real RocketMQ 5.1.4 (name server and broker from Maven Central), the reference"
integration/rocketmq/suite.sh reference

if [ -n "${PULSAR_URL:-}" ]; then
  log "Many gateways: three gateway processes on one Pulsar, one killed"
  integration/many/run.sh
fi
