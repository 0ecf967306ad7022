#!/usr/bin/env bash
# Resolve the jars of Kafka Streams and Kafka Connect (pom.xml, from Maven Central) once, and
# print the folder that holds them. scripts/test.sh runs it so that a fresh machine has them;
# the tests in this folder read the same folder (STREAMS_JARS overrides it).
#
# Environment (optional): KAFKA_VERSION (default 4.0.0), STREAMS_JARS.
set -euo pipefail
# shellcheck source=../../service.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../service.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_VERSION=${KAFKA_VERSION:-4.0.0}
HOME_DIR=$HOME/.cache/pulsar-gateway/kafka-streams-$KAFKA_VERSION
LIB=${STREAMS_JARS:-$HOME_DIR/lib}

log() { echo "jars.sh: $*" >&2; }
die() { log "$*"; exit 1; }

resolve_jars "$HERE/pom.xml" "$HOME_DIR" "$LIB" "kafka-streams and connect-runtime $KAFKA_VERSION" \
  -Dkafka.version="$KAFKA_VERSION"
echo "$LIB"
