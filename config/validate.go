package config

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/pulsar-gateway/pulsar-gateway/tlsident"
)

// Validate checks every setting and reports all problems in one line, each
// naming its key: `config: kafka.addr: "foo": missing port in address`.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}

	switch c.Backend {
	case BackendEmbedded:
		if c.DataDir == "" {
			bad("data_dir", "must be set for the embedded backend")
		}
		if c.Pulsar.ActAsClients {
			bad("pulsar.act_as_clients", "acts in Pulsar as each client: the pulsar backend only")
		}
	case BackendPulsar:
		if err := checkURL(c.Pulsar.URL, "pulsar", "pulsar+ssl"); err != nil {
			bad("pulsar.url", "%q: %v", c.Pulsar.URL, err)
		}
		if err := checkURL(c.Pulsar.AdminURL, "http", "https"); err != nil {
			bad("pulsar.admin_url", "%q: %v", c.Pulsar.AdminURL, err)
		}
		c.Pulsar.validate(bad)
	default:
		bad("backend", "%q: must be embedded or pulsar", c.Backend)
	}
	for _, n := range []struct{ key, v string }{{"tenant", c.Tenant}, {"namespace", c.Namespace}} {
		if n.v == "" || strings.ContainsAny(n.v, "/ ") {
			bad(n.key, "%q: must be a non-empty name without '/' or spaces", n.v)
		}
	}

	listeners := append(c.listeners(),
		namedListener{key: "mqtt.ws", Listener: c.MQTT.WS(), addrKey: "mqtt.ws_addr"},
		namedListener{key: "mqtt.wss", Listener: c.MQTT.WSS(), addrKey: "mqtt.wss_addr", tlsKey: "mqtt.wss_tls"})
	if wss := c.MQTT.WSS(); wss.Enabled && !wss.TLS.Enabled() {
		bad("mqtt.wss_addr", "needs a certificate: mqtt.wss_tls.cert_file and key_file, or mqtt.tls's")
	}
	bound := map[string]string{} // "host:port" -> key, to catch two listeners on one port
	for _, l := range listeners {
		if !l.Enabled {
			continue
		}
		if err := checkAddr(l.Addr); err != nil {
			bad(l.addrName(), "%q: %v", l.Addr, err)
		} else if host, port, _ := net.SplitHostPort(l.Addr); port != "0" {
			if other, dup := bound[host+":"+port]; dup {
				bad(l.addrName(), "%q: also used by %s", l.Addr, other)
			}
			bound[host+":"+port] = l.addrName()
		}
		if _, err := l.TLS.Load(); err != nil {
			bad(l.tlsName(), "%v", err)
		}
	}
	if c.AMQP.Management.Enabled && !c.AMQP.Enabled {
		bad("amqp.management.enabled", "serves the AMQP listener's state: needs amqp.enabled")
	}
	if c.Kafka.Enabled && c.Kafka.AdvertisedAddr != "" {
		if err := checkAddr(c.Kafka.AdvertisedAddr); err != nil {
			bad("kafka.advertised_addr", "%q: %v", c.Kafka.AdvertisedAddr, err)
		} else if host, port, _ := net.SplitHostPort(c.Kafka.AdvertisedAddr); host == "" || port == "0" {
			bad("kafka.advertised_addr", "%q: needs a host and a port other than 0, as clients connect to it", c.Kafka.AdvertisedAddr)
		}
	}
	if c.RocketMQ.Enabled && c.RocketMQ.AdvertisedAddr != "" {
		if err := checkAddr(c.RocketMQ.AdvertisedAddr); err != nil {
			bad("rocketmq.advertised_addr", "%q: %v", c.RocketMQ.AdvertisedAddr, err)
		} else if host, port, _ := net.SplitHostPort(c.RocketMQ.AdvertisedAddr); host == "" || port == "0" {
			bad("rocketmq.advertised_addr", "%q: needs a host and a port other than 0, as clients connect to it", c.RocketMQ.AdvertisedAddr)
		}
	}

	if _, err := tlsident.ParseRules(c.Kafka.SSLPrincipalMappingRules); err != nil {
		bad("kafka.ssl_principal_mapping_rules", "%v", err)
	}
	if c.MQTT.UseIdentityAsUsername && c.MQTT.TLS.ClientCAFile == "" {
		bad("mqtt.use_identity_as_username", "needs mqtt.tls.client_ca_file: without client certificates there is no identity")
	}
	if f := c.AMQP.SSLCertLoginFrom; f != "distinguished_name" && f != "common_name" {
		bad("amqp.ssl_cert_login_from", "%q: must be distinguished_name or common_name", f)
	}
	if c.Kafka.ConnectionsMaxReauth < 0 {
		bad("kafka.connections_max_reauth", "%s: must not be negative", c.Kafka.ConnectionsMaxReauth)
	}
	if c.Kafka.DefaultPartitions < 1 {
		bad("kafka.default_partitions", "%d: must be 1 or more", c.Kafka.DefaultPartitions)
	}
	switch c.Kafka.Transactions {
	case "auto", "store", "markers":
	default:
		bad("kafka.transactions", "%q: must be auto, store or markers", c.Kafka.Transactions)
	}

	switch c.Kafka.SchemaFraming {
	case "keep":
	case "strip":
		if c.Backend != BackendPulsar {
			bad("kafka.schema_framing", "strip needs the pulsar backend: the embedded store keeps Kafka batches whole")
		}
	default:
		bad("kafka.schema_framing", "%q: must be keep or strip", c.Kafka.SchemaFraming)
	}

	// Logins on for one protocol and off for another leave a door open:
	// refused unless the open one is named in auth.open.
	open := map[string]bool{}
	for _, s := range strings.Split(c.Auth.Open, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(loginServices, s) {
			bad("auth.open", "%q: not one of %s", s, strings.Join(loginServices, ", "))
		}
		open[s] = true
	}
	if c.Auth.JWKSFile != "" && c.Auth.JWKSURL != "" {
		bad("auth.jwks_url", "set auth.jwks_file or auth.jwks_url, not both")
	}
	if c.Auth.JWKSURL != "" {
		if err := checkURL(c.Auth.JWKSURL, "http", "https"); err != nil {
			bad("auth.jwks_url", "%q: %v", c.Auth.JWKSURL, err)
		}
	}
	var secured, unsecured []string
	for _, s := range loginServices {
		switch {
		case !c.serviceEnabled(s):
		case c.LoginsOn(s):
			secured = append(secured, s)
		case !open[s]:
			unsecured = append(unsecured, s)
		}
	}
	if len(secured) > 0 && len(unsecured) > 0 {
		bad("auth", "logins are required on %s but %s would take anyone: set auth.password_file (one store for every protocol), or name %s in auth.open to leave it open on purpose",
			strings.Join(secured, ", "), strings.Join(unsecured, ", "), strings.Join(unsecured, ", "))
	}

	if _, err := zapcore.ParseLevel(c.Log.Level); err != nil || c.Log.Level == "" {
		bad("log.level", "%q: must be debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		bad("log.format", "%q: must be json or console", c.Log.Format)
	}
	if c.Limits.MaxConnections < 0 {
		bad("limits.max_connections", "%d: must be 0 (no limit) or more", c.Limits.MaxConnections)
	}
	if c.Limits.ReadTimeout < 0 {
		bad("limits.read_timeout", "%s: must not be negative", c.Limits.ReadTimeout)
	}
	if c.Metrics.SampleInterval < time.Second {
		bad("metrics.sample_interval", "%s: must be at least 1s", c.Metrics.SampleInterval)
	}
	if c.Metrics.MaxSeries < 0 {
		bad("metrics.max_series", "%d: must not be negative", c.Metrics.MaxSeries)
	}
	if c.Shutdown.DrainTimeout < 0 {
		bad("shutdown.drain_timeout", "%s: must not be negative", c.Shutdown.DrainTimeout)
	}

	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

type namedListener struct {
	key string
	Listener
	addrKey, tlsKey string // when not key.addr and key.tls
}

func (l namedListener) addrName() string { return cmp.Or(l.addrKey, l.key+".addr") }
func (l namedListener) tlsName() string  { return cmp.Or(l.tlsKey, l.key+".tls") }

// listeners lists the listeners in a fixed order (for stable messages).
func (c *Config) listeners() []namedListener {
	return []namedListener{
		{key: "kafka", Listener: c.Kafka.Listener},
		{key: "mqtt", Listener: c.MQTT.Listener},
		{key: "amqp", Listener: c.AMQP.Listener},
		{key: "amqp.management", Listener: c.AMQP.Management},
		{key: "rocketmq", Listener: c.RocketMQ.Listener},
		{key: "http", Listener: c.HTTP},
		{key: "schema_registry", Listener: c.SchemaRegistry.Listener},
	}
}

// checkAddr accepts host:port with a numeric port (0 picks a free port).
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	for _, s := range schemes {
		if u.Scheme == s {
			if u.Host == "" {
				return errors.New("missing host")
			}
			return nil
		}
	}
	return fmt.Errorf("scheme must be %s", strings.Join(schemes, " or "))
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ClientCAFile != "" }

// Load reads the certificate and key: nil, nil when TLS is off.
func (t TLS) Load() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	if t.CertFile == "" || t.KeyFile == "" {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client_ca_file %s: no PEM certificate in it", t.ClientCAFile)
		}
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c, nil
}
