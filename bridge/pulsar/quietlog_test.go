package pulsar_test

import (
	"io"
	"log/slog"

	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

func quietLogger() plog.Logger {
	return plog.NewLoggerWithSlog(slog.New(slog.NewTextHandler(io.Discard, nil)))
}
