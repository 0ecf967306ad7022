package pulsar

import (
	"fmt"

	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"go.uber.org/zap"
)

// clientLogger sends pulsar-client-go's logs to zap. The client logs every
// connect, lookup and reconnect at info; those become debug here so the
// gateway stays quiet at info, while warnings and errors keep their level.
type clientLogger struct{ s *zap.SugaredLogger }

func newClientLogger(l *zap.Logger) plog.Logger {
	return clientLogger{l.Named("pulsar-client").WithOptions(zap.AddCallerSkip(1)).Sugar()}
}

func (c clientLogger) SubLogger(f plog.Fields) plog.Logger {
	return clientLogger{c.s.With(fieldsArgs(f)...)}
}
func (c clientLogger) WithFields(f plog.Fields) plog.Entry {
	return clientLogger{c.s.With(fieldsArgs(f)...)}
}
func (c clientLogger) WithField(k string, v any) plog.Entry { return clientLogger{c.s.With(k, v)} }
func (c clientLogger) WithError(err error) plog.Entry       { return clientLogger{c.s.With("error", err)} }
func (c clientLogger) Debug(args ...any)                    { c.s.Debug(args...) }
func (c clientLogger) Info(args ...any)                     { c.s.Debug(args...) }
func (c clientLogger) Warn(args ...any)                     { c.s.Warn(args...) }
func (c clientLogger) Error(args ...any)                    { c.s.Error(args...) }
func (c clientLogger) Debugf(f string, args ...any)         { c.s.Debugf(f, args...) }
func (c clientLogger) Infof(f string, args ...any)          { c.s.Debugf(f, args...) }
func (c clientLogger) Warnf(f string, args ...any)          { c.s.Warnf(f, args...) }
func (c clientLogger) Errorf(f string, args ...any)         { c.s.Errorf(f, args...) }

func fieldsArgs(f plog.Fields) []any {
	out := make([]any, 0, 2*len(f))
	for k, v := range f {
		out = append(out, k, fmt.Sprint(v))
	}
	return out
}
