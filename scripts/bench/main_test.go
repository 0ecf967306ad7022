package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The page a reader gets from the load programs' records: one column per
// target whichever program named it, the ratio to the reference, and charts
// that are PNG images. (The numbers are made up: no test asserts a measurement.)
func TestRenderPageAndCharts(t *testing.T) {
	dir := t.TempDir()
	*out, *charts = filepath.Join(dir, "benchmarks.md"), filepath.Join(dir, "benchmarks")
	os.MkdirAll(*charts, 0o755)
	os.WriteFile(filepath.Join(*charts, "stale.png"), []byte("old"), 0o644)
	refs = listFlag{"gateway/pulsar=pulsar-java"}
	defer func() { refs = nil }()
	render([]record{
		{Group: "kafka", Scenario: "produce 100 B", Metric: "MB/s", Target: "gateway/embedded", Ref: "kafka", Value: 50},
		{Group: "kafka", Scenario: "produce 100 B", Metric: "MB/s", Target: "kafka", Value: 100},
		{Group: "latency", Scenario: "Kafka 10000/s x 100 B", Metric: "p99 ms", Target: "gateway/pulsar", Ref: "pulsar", Value: 8, Lower: true},
		{Group: "latency", Scenario: "Kafka 10000/s x 100 B", Metric: "p99 ms", Target: "pulsar", Value: 4, Lower: true},
		{Group: "latency", Scenario: "Kafka 10000/s x 100 B", Metric: "p99 ms", Target: "pulsar-java", Value: 16, Lower: true},
		{Group: "memory", Scenario: "MQTT idle connections (10)", Metric: "KiB/conn", Target: "gateway/embedded", Ref: "mosquitto", Value: 7, Lower: true},
		{Group: "memory", Scenario: "MQTT idle connections (10)", Metric: "KiB/conn", Target: "mosquitto", Value: 0.7, Lower: true},
		{Group: "memory", Scenario: "MQTT idle connections (10)", Metric: "conn/s", Target: "gateway/embedded", Ref: "mosquitto", Value: 900},
		{Group: "memory", Scenario: "MQTT idle connections (10)", Metric: "conn/s", Target: "mosquitto", Value: 1000},
		{Group: "memory", Scenario: "MQTT idle connections (10), 2 publishing 1 msg/s", Metric: "CPU %", Target: "gateway/embedded", Ref: "mosquitto", Value: 3, Lower: true,
			Note: "of 20 published, 1 not acknowledged, 0 not delivered"},
		{Group: "memory", Scenario: "MQTT idle connections (10), 2 publishing 1 msg/s", Metric: "CPU %", Target: "mosquitto", Value: 1.5, Lower: true},
		{Group: "manytopics", Scenario: "1000 topics × 10 partitions", Metric: "commit 1 member ms", Target: "gw-embedded", Ref: "kafka", Value: 300, Lower: true},
		{Group: "manytopics", Scenario: "1000 topics × 10 partitions", Metric: "commit 1 member ms", Target: "kafka", Value: 100, Lower: true},
		{Group: "rocketmq", Scenario: "sync send 100 B, 16 producers", Metric: "msg/s", Target: "gateway/embedded", Ref: "rocketmq", Value: 3000},
		{Group: "rocketmq", Scenario: "sync send 100 B, 16 producers", Metric: "msg/s", Target: "rocketmq", Value: 6000},
	})
	page, err := os.ReadFile(*out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| produce 100 B | MB/s | 50.0 | 100 | **0.50** |",
		"| Kafka 10000/s x 100 B | gateway/pulsar | 8.00 | **2.00** (÷ pulsar), **0.50** (÷ pulsar-java) |",
		"![Kafka throughput](benchmarks/kafka-mb-s.png)",
		"| MQTT idle connections (10) | KiB/conn | 7.00 | 0.70 | **10.00** |",
		"| MQTT idle connections (10) | conn/s | 900 | 1000 | **0.90** |",
		"| MQTT idle connections (10), 2 publishing 1 msg/s | CPU % | 3.00 (of 20 published, 1 not acknowledged, 0 not delivered) | 1.50 | **2.00** |",
		"![Idle connections: conn/s](benchmarks/memory-conn-s.png)",
		"## Kafka: many topics",
		"| 1000 topics × 10 partitions | commit 1 member ms | 300 | 100 | **3.00** |",
		"## RocketMQ: send and consume",
		"| sync send 100 B, 16 producers | msg/s | 3000 | 6000 | **0.50** |",
		"![RocketMQ throughput](benchmarks/rocketmq-msg-s.png)",
		"Machine: ",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	pngs, _ := filepath.Glob(filepath.Join(*charts, "*.png"))
	if len(pngs) != 6 {
		t.Errorf("charts %v, want kafka, rocketmq, latency, and idle connections' KiB/conn, conn/s, CPU %% (and no stale one, none for manytopics)", pngs)
	}
	for _, p := range pngs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 300 {
			t.Errorf("%s: not a chart: %v", p, err)
		}
	}
}

func TestCanonicalTargetNames(t *testing.T) {
	for in, want := range map[string]string{"gw-embedded": "gateway/embedded", "gw-pulsar": "gateway/pulsar", "kafka": "kafka", "": ""} {
		if got := canonical(in); got != want {
			t.Errorf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
