package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the gateway could not start or stop cleanly
	exitConfig  = 2 // the configuration is wrong; nothing was started
)

// run is the whole program, apart from signals: it returns when ctx ends (a
// SIGTERM or SIGINT in main) and the gateway has drained, or when it cannot
// start. Logs go to stderr; --help goes to stdout.
func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, env)
	if errors.Is(err, config.ErrHelp) {
		config.Usage(stdout)
		return exitOK
	}
	build := readBuildInfo()
	if errors.Is(err, config.ErrVersion) {
		fmt.Fprintln(stdout, build)
		return exitOK
	}
	if err != nil {
		return fail(stderr, exitConfig, err)
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return fail(stderr, exitConfig, err)
	}
	defer log.Sync()

	log.Info("starting", append(build.logFields(), zap.String("backend", string(cfg.Backend)))...)
	log.Debug("effective config", zap.Any("config", cfg.Redacted()))

	backend, err := openBackend(cfg, log)
	if err != nil {
		return fail(stderr, exitFailure, err)
	}
	gw, err := newGateway(cfg, log, backend, protocolFactories)
	if err != nil {
		if cerr := backend.Close(); cerr != nil {
			log.Error("closing the backend", zap.Error(cerr))
		}
		return fail(stderr, exitFailure, err)
	}
	gw.start()

	code := exitOK
	if err := gw.wait(ctx); err != nil {
		log.Error("a listener failed: shutting down", zap.Error(err))
		code = exitFailure
	} else {
		log.Info("shutting down", zap.String("reason", context.Cause(ctx).Error()),
			zap.Duration("drain_timeout", cfg.Shutdown.DrainTimeout))
	}
	if err := gw.shutdown(); err != nil {
		log.Error("shutdown", zap.Error(err))
		code = exitFailure
	}
	log.Info("stopped")
	return code
}

// fail prints one line for a person at a terminal and returns code.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "pulsar-gateway: %v\n", err)
	return code
}
