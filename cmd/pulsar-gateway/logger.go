package main

import (
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pulsar-gateway/pulsar-gateway/config"
)

// newLogger logs to w at the configured level and format. Repeated lines
// are sampled (after 100 of one message in a second, 1 in 100), so a flood
// of rejected or failing clients cannot drown the log or the disk.
func newLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	var enc zapcore.Encoder
	if c.Format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout(time.RFC3339)
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	sink := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, sink, level), time.Second, 100, 100)
	return zap.New(core, zap.ErrorOutput(sink)), nil
}
