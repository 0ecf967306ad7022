package main

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/config"
)

// openBackend opens the configured message store. This is the one place
// that picks a backend, so that bridge imports neither.
func openBackend(cfg *config.Config, log *zap.Logger) (bridge.Backend, error) {
	switch cfg.Backend {
	case config.BackendEmbedded:
		b, err := embedded.Open(embedded.Options{Dir: cfg.DataDir, Logger: log.Named("embedded")})
		if err != nil {
			return nil, fmt.Errorf("backend embedded: %w", err)
		}
		return b, nil
	case config.BackendPulsar:
		return nil, errors.New("backend pulsar: not available in this build yet")
	}
	return nil, fmt.Errorf("backend %q: unknown", cfg.Backend) // Validate rejects this first
}
