package main

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
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
		// Bounded, so a gateway pointed at a missing broker says so and exits
		// instead of waiting forever.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var actAs *pulsarbackend.ActAsOptions
		if cfg.Pulsar.ActAsClients {
			actAs = &pulsarbackend.ActAsOptions{TokenKeyFile: cfg.Pulsar.ClientTokenKeyFile, MaxClients: cfg.Pulsar.MaxClientConnections}
		}
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{
			ActAs:         actAs,
			URL:           cfg.Pulsar.URL,
			AdminURL:      cfg.Pulsar.AdminURL,
			AuthToken:     cfg.Pulsar.AuthToken.Reveal(),
			AuthTokenFile: cfg.Pulsar.AuthTokenFile,
			TLS: pulsarbackend.TLSOptions{CAFile: cfg.Pulsar.TLS.CAFile, ServerName: cfg.Pulsar.TLS.ServerName,
				CertFile: cfg.Pulsar.TLS.CertFile, KeyFile: cfg.Pulsar.TLS.KeyFile},
			OAuth2:    pulsarbackend.OAuth2Options(cfg.Pulsar.OAuth2),
			Tenant:    cfg.Tenant,
			Namespace: cfg.Namespace,
			Logger:    log.Named("pulsar"),
		})
		if err != nil {
			return nil, fmt.Errorf("backend pulsar at %s: %w", cfg.Pulsar.URL, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("backend %q: unknown", cfg.Backend) // Validate rejects this first
}
