package main

import (
	"context"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
)

// The AMQP 0-9-1 handler (package amqp). Authentication is off for now: any user and
// password is accepted (guest/guest is what clients send by default). It is an io.Closer,
// closed after its connections drained.
func init() {
	protocolFactories["amqp"] = func(d protocolDeps) (handlers.ConnHandler, error) {
		return amqp.New(context.Background(), amqp.Options{
			Backend:   d.Backend,
			Logger:    d.Logger,
			Tenant:    d.Config.Tenant,
			Namespace: d.Config.Tenant + "/" + d.Config.Namespace,
		})
	}
}
