package pulsar

import (
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The client's errors keep their level, but for its benign race with a
// consumer being closed; its info is debug.
func TestClientLoggerLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := newClientLogger(zap.New(core))
	l.WithError(errors.New("consumer closing or closed")).Error("unable to send permits")
	l.WithField("state", "Closing").Error("Failed to redeliver closing or closed consumer")
	l.Errorf("Failed to redeliver %s consumer", "closing or closed")
	l.Info("connected")
	l.WithError(errors.New("connection refused")).Error("Failed to create producer")
	l.Warn("reconnecting")
	var got []zapcore.Level
	for _, e := range logs.All() {
		got = append(got, e.Level)
	}
	want := []zapcore.Level{zapcore.DebugLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.DebugLevel, zapcore.ErrorLevel, zapcore.WarnLevel}
	if len(got) != len(want) {
		t.Fatalf("levels %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("levels %v, want %v", got, want)
		}
	}
}
