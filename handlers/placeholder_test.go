package handlers

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestNotImplementedClosesWithLogLine(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	ts := startServer(t, Options{Protocol: "kafka", Handler: NotImplemented("kafka", zap.New(core))})

	c := dial(t, ts.addr)
	expectClosed(t, c)

	lines := logs.FilterMessage("kafka handler not implemented yet: closing connection").All()
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1; got %v", len(lines), logs.All())
	}
	if remote := lines[0].ContextMap()["remote"]; remote != c.LocalAddr().String() {
		t.Errorf("logged remote = %v, want the client's address %s", remote, c.LocalAddr())
	}
	if got := ts.metric(t, "pulsar_gateway_errors_total", "kafka"); got != 0 {
		t.Errorf("errors_total = %v, want 0: closing is the placeholder's normal end", got)
	}
}
