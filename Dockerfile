# syntax=docker/dockerfile:1

# Build a static binary: no cgo, so it runs on an image without libc.
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/pulsar-gateway ./cmd/pulsar-gateway \
 && mkdir -p /out/data

# distroless static: CA certificates and tzdata, no shell, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pulsar-gateway /usr/local/bin/pulsar-gateway
# The data dir must exist and belong to the non-root user before the volume
# mounts over it, or a fresh named volume is root-owned and unwritable.
COPY --from=build --chown=65532:65532 /out/data /data
# Numeric, so Kubernetes runAsNonRoot can verify it.
USER 65532:65532
VOLUME /data
# Kafka, MQTT, AMQP, HTTP (/healthz, /readyz, /metrics).
EXPOSE 9092 1883 5672 8081 8085 15672
# Kafka clients connect to the advertised address, which defaults to
# 127.0.0.1:9092: outside the container set PULSAR_GATEWAY_KAFKA_ADVERTISED_ADDR
# (or --kafka-advertised-addr) to the address clients can reach.
ENTRYPOINT ["/usr/local/bin/pulsar-gateway", "--data-dir", "/data"]
