package kafka_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCommitRestartConfluent: offsets a confluent-kafka group commits are
// still committed after the gateway is stopped with SIGTERM and started on
// the same data (the same broker for Pulsar), and the group, with
// auto.offset.reset=earliest, resumes there instead of reading again.
func TestCommitRestartConfluent(t *testing.T) {
	need(t, python, "-c", "import confluent_kafka")
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			g := newGateway(t, backend)
			suffix := fmt.Sprintf("-%x", time.Now().UnixNano())
			topic, group := "commit-restart"+suffix, "commit-restart-g"+suffix
			const script = "testdata/confluent_commit_restart.py"
			committed := strings.TrimSpace(run(t, nil, python, script, "first", g.addr, topic, group))
			g.stop()
			g.start()
			t.Log(strings.TrimSpace(run(t, nil, python, script, "resume", g.addr, topic, group, committed)))
		})
	}
}
