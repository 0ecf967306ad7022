package kafka_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const python = "/usr/bin/python3"

func TestKcat(t *testing.T) {
	need(t, "kcat", "-V")
	eachBackend(t, kcatScenario)
}

func kcatScenario(t *testing.T, addr, suffix string) {
	topic, groupID := "kc"+suffix, "kcat-group"+suffix

	if out := run(t, nil, "kcat", "-b", addr, "-L"); !strings.Contains(out, "1 brokers") {
		t.Fatalf("metadata:\n%s", out)
	}
	var in strings.Builder
	for i := range 20 {
		fmt.Fprintf(&in, "k%d:v%d\n", i%4, i)
	}
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		run(t, strings.NewReader(in.String()), "kcat", "-b", addr, "-t", topic, "-K:", "-P",
			"-z", codec, "-X", "enable.idempotence=true", "-H", "codec="+codec)
	}
	out := run(t, nil, "kcat", "-b", addr, "-t", topic, "-C", "-e", "-o", "beginning", "-f", "%o %k=%s %h\n")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 100 {
		t.Fatalf("consumed %d records, want 100:\n%s", len(lines), out)
	}
	for i, l := range lines {
		codec := []string{"none", "gzip", "snappy", "lz4", "zstd"}[i/20]
		want := fmt.Sprintf("%d k%d=v%d codec=%s", i, (i%20)%4, i%20, codec)
		if l != want {
			t.Fatalf("record %d: %q, want %q", i, l, want)
		}
	}

	// A consumer group reads everything once and commits; a second run of
	// the same group finds nothing left.
	group := run(t, nil, "kcat", "-b", addr, "-G", groupID, topic, "-e", "-f", "%o\n", "-X", "auto.offset.reset=earliest")
	if n := strings.Count(group, "\n"); n != 100 {
		t.Fatalf("group consumed %d records, want 100", n)
	}
	// earliest: librdkafka's default (latest) would read nothing here even
	// if the commit were lost.
	if again := run(t, nil, "kcat", "-b", addr, "-G", groupID, topic, "-e", "-f", "%o\n",
		"-X", "auto.offset.reset=earliest"); strings.TrimSpace(again) != "" {
		t.Fatalf("group re-read after commit:\n%s", again)
	}
	if out := run(t, nil, "kcat", "-b", addr, "-Q", "-t", topic+":0:-1"); !strings.Contains(out, "offset 100") {
		t.Fatalf("offset query: %s", out)
	}
}

func TestConfluentKafkaPython(t *testing.T) {
	need(t, python, "-c", "import confluent_kafka")
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		out := run(t, nil, python, "testdata/confluent_roundtrip.py", addr, "py-orders"+suffix, "py-group"+suffix)
		t.Log(strings.TrimSpace(out))
	})
}

func TestKafkaPython(t *testing.T) {
	need(t, python, "-c", "import kafka")
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		out := run(t, nil, python, "testdata/kafka_python_roundtrip.py", addr, "kp-orders"+suffix, "kp-group"+suffix)
		t.Log(strings.TrimSpace(out))
	})
}

// TestInternalTopics: once a group exists, kcat and confluent-kafka see
// __consumer_offsets (50 partitions, Kafka's default layout), and producing
// to it fails as Kafka fails it ("Broker: Invalid topic").
func TestInternalTopics(t *testing.T) {
	need(t, "kcat", "-V")
	need(t, python, "-c", "import confluent_kafka")
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic := "internal" + suffix
		run(t, strings.NewReader("k:v\n"), "kcat", "-b", addr, "-t", topic, "-K:", "-P")
		run(t, nil, "kcat", "-b", addr, "-G", "internal-group"+suffix, topic, "-e", "-X", "auto.offset.reset=earliest")

		if out := run(t, nil, "kcat", "-b", addr, "-L"); !strings.Contains(out, `topic "__consumer_offsets" with 50 partitions`) {
			t.Fatalf("kcat -L does not show __consumer_offsets:\n%s", out)
		}
		cmd := exec.Command("kcat", "-b", addr, "-t", "__consumer_offsets", "-P")
		cmd.Stdin = strings.NewReader("x\n")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Invalid topic") {
			t.Fatalf("kcat produce to __consumer_offsets: %v\n%s", err, out)
		}
		// The gateway is still there for a consumer of the internal topic.
		exec.Command("kcat", "-b", addr, "-t", "__consumer_offsets", "-C", "-e", "-o", "beginning", "-p", "0").Run()

		script := `
import sys
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient
addr = sys.argv[1]
md = AdminClient({"bootstrap.servers": addr}).list_topics(timeout=20)
t = md.topics.get("__consumer_offsets")
assert t is not None and t.error is None and len(t.partitions) == 50, (t, md.topics.keys())
errs = []
p = Producer({"bootstrap.servers": addr, "message.timeout.ms": 10000})
p.produce("__consumer_offsets", b"x", on_delivery=lambda e, m: errs.append(e))
p.flush(20)
assert len(errs) == 1 and errs[0] is not None and errs[0].code() == KafkaError.TOPIC_EXCEPTION, errs
print("ok", len(t.partitions), errs[0])
`
		t.Log(strings.TrimSpace(run(t, strings.NewReader(script), python, "-", addr)))
	})
}
