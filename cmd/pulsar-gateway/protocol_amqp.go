package main

import (
	"context"
	"crypto/x509"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// The AMQP 0-9-1 handler (package amqp). With amqp.password_file, logins are checked
// against it; without, any user and password is accepted (guest/guest is what clients
// send by default), and the start-up log warns of it. With amqp.tls.client_ca_file it
// offers EXTERNAL: the certificate's user logs in, and must be in the password file when
// there is one. With auth.acl_file, the one rule set is enforced as RabbitMQ enforces
// permissions (amqp/authz.go). It is an io.Closer, closed after its connections drained.
func init() {
	protocolFactories["amqp"] = func(d protocolDeps) (handlers.ConnHandler, error) {
		opts := amqp.Options{
			Backend:   d.Backend,
			Logger:    d.Logger,
			Metrics:   d.Flow,
			Tenant:    d.Config.Tenant,
			Namespace: d.Config.Tenant + "/" + d.Config.Namespace,
			Authz:     d.Authz, // auth.acl_file; nil: off
		}
		users, err := passwordUsers(d, "amqp")
		if err != nil {
			return nil, err
		}
		check := checkLogin(d, users)
		if d.Config.AMQP.TLS.ClientCAFile != "" {
			fromCN := d.Config.AMQP.SSLCertLoginFrom == "common_name"
			opts.CertUser = func(c *x509.Certificate) string {
				if fromCN {
					return c.Subject.CommonName
				}
				return tlsident.Subject(c)
			}
			if users != nil {
				// As RabbitMQ's internal user database: a certificate's
				// user logs in only if the password file has it.
				opts.KnownUser = users.Has
			}
		}
		if check != nil {
			opts.Authenticate = func(user, password string) bool { return check(user, []byte(password)) }
		} else if opts.CertUser == nil {
			d.Logger.Warn("AMQP accepts any user and password: amqp.password_file (or auth.password_file) is not set",
				zap.String("setting", "amqp.password_file"))
		}
		s, err := amqp.New(context.Background(), opts)
		if err != nil {
			return nil, err
		}
		d.Sampler.Add("amqp_queues", s.SampleQueues, amqp.QueueFamilies...)
		return s, nil
	}
}
