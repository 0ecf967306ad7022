package kafka_test

import (
	"fmt"
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
	if again := run(t, nil, "kcat", "-b", addr, "-G", groupID, topic, "-e", "-f", "%o\n"); strings.TrimSpace(again) != "" {
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
