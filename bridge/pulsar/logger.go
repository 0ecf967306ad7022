package pulsar

import (
	"fmt"
	"strings"

	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"go.uber.org/zap"
)

// clientLogger sends pulsar-client-go's logs to zap. The client logs every
// connect, lookup and reconnect at info; those become debug here so the
// gateway stays quiet at info, while warnings and errors keep their level,
// but for the client's own race with a consumer being closed ("Failed to
// redeliver closing or closed consumer", "unable to send permits: consumer
// closing or closed"), which it logs as errors though nothing is lost: the
// broker hands a closed consumer's messages to the others.
type clientLogger struct {
	s      *zap.SugaredLogger
	closed bool // the entry is about a consumer closing
}

const closingRace = "closing or closed"

func (c clientLogger) errorLevel(msg string) func(args ...any) {
	if c.closed || strings.Contains(msg, closingRace) {
		return c.s.Debug
	}
	return c.s.Error
}

func newClientLogger(l *zap.Logger) plog.Logger {
	return clientLogger{s: l.Named("pulsar-client").WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

func (c clientLogger) SubLogger(f plog.Fields) plog.Logger {
	return clientLogger{c.s.With(fieldsArgs(f)...), c.closed}
}
func (c clientLogger) WithFields(f plog.Fields) plog.Entry {
	return clientLogger{c.s.With(fieldsArgs(f)...), c.closed}
}
func (c clientLogger) WithField(k string, v any) plog.Entry {
	return clientLogger{c.s.With(k, v), c.closed}
}
func (c clientLogger) WithError(err error) plog.Entry {
	return clientLogger{c.s.With("error", err), c.closed || err != nil && strings.Contains(err.Error(), closingRace)}
}
func (c clientLogger) Debug(args ...any)            { c.s.Debug(args...) }
func (c clientLogger) Info(args ...any)             { c.s.Debug(args...) }
func (c clientLogger) Warn(args ...any)             { c.s.Warn(args...) }
func (c clientLogger) Error(args ...any)            { c.errorLevel(fmt.Sprint(args...))(args...) }
func (c clientLogger) Debugf(f string, args ...any) { c.s.Debugf(f, args...) }
func (c clientLogger) Infof(f string, args ...any)  { c.s.Debugf(f, args...) }
func (c clientLogger) Warnf(f string, args ...any)  { c.s.Warnf(f, args...) }
func (c clientLogger) Errorf(f string, args ...any) {
	msg := fmt.Sprintf(f, args...)
	c.errorLevel(msg)(msg)
}

func fieldsArgs(f plog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, fmt.Sprint(v))
	}
	return out
}
