package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/config"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
	"github.com/pulsar-gateway/pulsar-gateway/kafka"
	"github.com/pulsar-gateway/pulsar-gateway/metrics"
	"github.com/pulsar-gateway/pulsar-gateway/passwd"
	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// protocolDeps is what a protocol handler is built from. It is built after
// the listener is bound, so Addr is the real address (port 0 resolved):
// Kafka advertises Config.Kafka.Advertised(Addr).
type protocolDeps struct {
	Config   *config.Config
	Backend  bridge.Backend
	Logger   *zap.Logger           // named after the protocol
	Registry prometheus.Registerer // for the protocol's own metrics
	Addr     net.Addr
	// Tokens checks JWT logins (auth.jwks_*), shared by every protocol;
	// nil without a key set.
	Tokens *jwtauth.Validator
	// Authz is the one rule set (auth.acl_file and Kafka's ACLs); nil
	// when authorization is off.
	Authz *authz.Authorizer
	// Flow counts the protocol's messages and requests; Sampler takes
	// the backlog gauges it adds.
	Flow    *metrics.Flow
	Sampler *metrics.Sampler
}

// aclTable is the state table of the rules made through CreateAcls.
const aclTable = "acls"

// newAuthorizer loads auth.acl_file and follows the rules every gateway
// on the backend shares.
func newAuthorizer(cfg *config.Config, b bridge.Backend, log *zap.Logger) (*authz.Authorizer, error) {
	st, err := b.State(context.Background(), aclTable)
	if err != nil {
		return nil, fmt.Errorf("auth: acl state: %w", err)
	}
	a, err := authz.New(authz.Options{File: cfg.Auth.ACLFile, SuperUsers: cfg.Auth.SuperUserList(), Store: st, Logger: log.Named("authz")})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return a, nil
}

// tokens is d.Tokens as the protocols take it: a nil interface without.
func (d protocolDeps) tokens() interface {
	Validate(string) (string, error)
} {
	if d.Tokens == nil {
		return nil
	}
	return d.Tokens
}

// passwordUsers is service's password file (its own or auth.password_file),
// watched so that changes need no restart; nil when it has none.
func passwordUsers(d protocolDeps, service string) (*passwd.Watched, error) {
	if path := d.Config.PasswordFile(service); path != "" {
		return passwd.Watch(path)
	}
	return nil, nil
}

// checkLogin is how a protocol with user and password logins checks one:
// a JWT as the password when token logins are on (its subject must be the
// user), else users, its password file (passwordUsers). nil: the protocol
// takes any login.
func checkLogin(d protocolDeps, users *passwd.Watched) func(user string, password []byte) bool {
	if users == nil && d.Tokens == nil {
		return nil
	}
	return func(user string, password []byte) bool {
		if d.Tokens != nil && jwtauth.LooksLikeJWT(string(password)) {
			sub, err := d.Tokens.Validate(string(password))
			return err == nil && sub == user
		}
		return users != nil && users.Check(user, password)
	}
}

// protocolFactory builds one protocol's connection handler. If the handler
// is also an io.Closer, it is closed after its connections drained and
// before the backend closes.
type protocolFactory func(protocolDeps) (handlers.ConnHandler, error)

// protocols are served in this order; each is a key of config and of the
// factories map.
var protocols = []string{"kafka", "mqtt", "amqp"}

// protocolFactories is where real handlers replace the placeholders, which
// log and close every connection.
var protocolFactories = map[string]protocolFactory{
	"kafka": newKafka,
	"mqtt":  placeholder("mqtt"),
	"amqp":  placeholder("amqp"),
}

// newKafka serves Kafka on the backend, advertising the configured address.
func newKafka(d protocolDeps) (handlers.ConnHandler, error) {
	opts := kafka.Options{
		Advertised:        d.Config.Kafka.Advertised(d.Addr),
		Namespace:         d.Config.Tenant + "/" + d.Config.Namespace,
		DisableAutoCreate: !d.Config.Kafka.AutoCreateTopics,
		DefaultPartitions: d.Config.Kafka.DefaultPartitions,
		Transactions:      d.Config.Kafka.Transactions,
		SchemaFraming:     d.Config.Kafka.SchemaFraming,
		SuperUsers:        d.Config.Auth.SuperUserList(),
		Authz:             d.Authz,
		Logger:            d.Logger,
		Metrics:           d.Flow,
	}
	if d.Config.Backend == config.BackendEmbedded {
		// kafka-log-dirs shows where the partitions are.
		if dir, err := filepath.Abs(d.Config.DataDir); err == nil {
			opts.LogDir = dir
		}
	}
	// PLAIN and SCRAM against the password file; tokens through
	// OAUTHBEARER, not as PLAIN passwords.
	users, err := passwordUsers(d, "kafka")
	if err != nil {
		return nil, err // bind names the protocol
	}
	if users != nil {
		opts.Authenticate = func(user, password string) bool { return users.Check(user, []byte(password)) }
	}
	if d.Tokens != nil {
		opts.Tokens = d.Tokens
	}
	opts.MaxReauth = d.Config.Kafka.ConnectionsMaxReauth
	if d.Config.Kafka.TLS.ClientCAFile != "" {
		rules, err := tlsident.ParseRules(d.Config.Kafka.SSLPrincipalMappingRules)
		if err != nil {
			return nil, err
		}
		opts.CertPrincipal = func(c *x509.Certificate) (string, error) { return rules.Map(tlsident.Subject(c)) }
	}
	h, err := kafka.New(context.Background(), d.Backend, opts)
	if err != nil {
		return nil, err
	}
	d.Sampler.Add("kafka_lag", h.SampleLag, kafka.LagFamilies...)
	return h, nil
}

func placeholder(protocol string) protocolFactory {
	return func(d protocolDeps) (handlers.ConnHandler, error) {
		return handlers.NotImplemented(protocol, d.Logger), nil
	}
}

// listenerConfig is the config section of a protocol.
func listenerConfig(cfg *config.Config, protocol string) config.Listener {
	switch protocol {
	case "kafka":
		return cfg.Kafka.Listener
	case "mqtt":
		return cfg.MQTT.Listener
	case "amqp":
		return cfg.AMQP.Listener
	case "rocketmq":
		return cfg.RocketMQ.Listener
	}
	panic("unknown protocol " + protocol)
}
