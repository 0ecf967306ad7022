package main

import (
	"context"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/mqtt"
)

// The MQTT handler: mochi on the bridge (package mqtt). It is an io.Closer,
// closed after its connections drained.
func init() {
	protocolFactories["mqtt"] = func(d protocolDeps) (handlers.ConnHandler, error) {
		c := d.Config.MQTT
		auth, err := mqtt.LoadAuth(d.Config.PasswordFile("mqtt"), c.ACLFile, c.AllowAnonymous, c.UseIdentityAsUsername, d.tokens())
		if err != nil {
			return nil, err
		}
		auth = auth.WithRules(d.Authz)
		s, err := mqtt.New(context.Background(), mqtt.Options{
			Backend:   d.Backend,
			Logger:    d.Logger,
			Metrics:   d.Flow,
			Namespace: d.Config.Tenant + "/" + d.Config.Namespace,
			Auth:      auth,
		})
		if err != nil {
			return nil, err
		}
		d.Sampler.Add("mqtt_sessions", s.SampleSessions, mqtt.SessionFamilies...)
		return s, nil
	}
}
