// Package config is the gateway's one typed configuration: defaults, a YAML
// file, PULSAR_GATEWAY_* environment variables and command-line flags, in
// that order of precedence, validated before anything starts.
package config

import (
	"net"
	"strings"
	"time"
)

// Backend names the message store.
type Backend string

const (
	// BackendEmbedded stores everything under DataDir in this process.
	BackendEmbedded Backend = "embedded"
	// BackendPulsar stores everything in an Apache Pulsar cluster.
	BackendPulsar Backend = "pulsar"
)

// Config is the gateway's effective configuration. The yaml tags are the
// file's keys; flags and environment variables are derived from them (see
// Settings).
type Config struct {
	Backend   Backend `yaml:"backend"`
	DataDir   string  `yaml:"data_dir"`
	Tenant    string  `yaml:"tenant"`
	Namespace string  `yaml:"namespace"`

	Pulsar Pulsar `yaml:"pulsar"`
	Kafka  Kafka  `yaml:"kafka"`
	MQTT   MQTT   `yaml:"mqtt"`
	AMQP   AMQP   `yaml:"amqp"`
	// RocketMQ is the RocketMQ remoting listener (name server and broker
	// on one port).
	RocketMQ RocketMQ `yaml:"rocketmq"`
	HTTP     Listener `yaml:"http"`

	SchemaRegistry SchemaRegistry `yaml:"schema_registry"`

	Auth Auth `yaml:"auth"`

	Metrics Metrics `yaml:"metrics"`
	Console Console `yaml:"console"`

	Log      Log      `yaml:"log"`
	Limits   Limits   `yaml:"limits"`
	Shutdown Shutdown `yaml:"shutdown"`
}

// Console is the read-only web console on the HTTP address (/console/).
type Console struct {
	Enabled bool `yaml:"enabled"`
}

// Metrics shapes the series /metrics exports beyond the fixed ones.
type Metrics struct {
	// SampleInterval is how often backlogs (Kafka lag, MQTT sessions'
	// waiting messages, AMQP queues) are read from the backend.
	SampleInterval time.Duration `yaml:"sample_interval"`
	// MaxSeries bounds each per-topic, per-group or per-session gauge to
	// its largest series, so a cluster of many topics does not explode
	// the scrape; 0 exports them all.
	MaxSeries int `yaml:"max_series"`
}

// Pulsar is how to reach the Pulsar cluster when Backend is pulsar. Every
// connection to it (client, admin, the gateway's own) uses the same TLS
// settings and the one authentication method set here.
type Pulsar struct {
	URL       string `yaml:"url"`
	AdminURL  string `yaml:"admin_url"`
	AuthToken Secret `yaml:"auth_token"`
	// AuthTokenFile holds the token instead, read again at each use so
	// that a rotated token is picked up.
	AuthTokenFile string       `yaml:"auth_token_file"`
	TLS           PulsarTLS    `yaml:"tls"`
	OAuth2        PulsarOAuth2 `yaml:"oauth2"`
	// ActAsClients makes the gateway act in Pulsar as each client's own
	// principal: a logged-in client's producers, consumers and readers log
	// in to Pulsar as its user (anonymous ones as ANONYMOUS), so Pulsar's
	// authorization applies per user. The gateway signs their tokens with
	// ClientTokenKeyFile.
	ActAsClients bool `yaml:"act_as_clients"`
	// ClientTokenKeyFile is the key Pulsar's token authentication checks:
	// its tokenSecretKey (HS256) or the private key of its tokenPublicKey
	// (PEM, RS256).
	ClientTokenKeyFile string `yaml:"client_token_key_file"`
	// MaxClientConnections bounds the principals' Pulsar clients kept
	// open; past it the least recently used idle one is closed.
	MaxClientConnections int `yaml:"max_client_connections"`
}

// PulsarTLS is how the gateway checks the broker over pulsar+ssl:// and
// https://, and the client certificate it logs in with. The broker's
// hostname is always verified.
type PulsarTLS struct {
	// CAFile is the CA certificates (PEM) the broker's certificate must
	// chain to; empty: the system's.
	CAFile string `yaml:"ca_file"`
	// ServerName is the name the broker's certificate must carry, when
	// it is not the URL's host.
	ServerName string `yaml:"server_name"`
	// CertFile and KeyFile are a client certificate: Pulsar's TLS
	// authentication (AuthenticationTls), the role its CN.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// PulsarOAuth2 is OAuth2 client credentials, as pulsar-client-go's
// AuthenticationOAuth2 takes them: its access tokens are Pulsar tokens.
type PulsarOAuth2 struct {
	IssuerURL string `yaml:"issuer_url"`
	// PrivateKeyFile is the credentials file (JSON: client_id,
	// client_secret, optionally issuer_url), Pulsar's privateKey param.
	PrivateKeyFile string `yaml:"private_key_file"`
	Audience       string `yaml:"audience"`
	Scope          string `yaml:"scope"`
}

// AuthMethods names the Pulsar authentication methods configured, by key.
func (p Pulsar) AuthMethods() []string {
	var out []string
	for _, m := range []struct {
		key string
		on  bool
	}{
		{"pulsar.auth_token", p.AuthToken != ""},
		{"pulsar.auth_token_file", p.AuthTokenFile != ""},
		{"pulsar.tls.cert_file", p.TLS.CertFile != "" || p.TLS.KeyFile != ""},
		{"pulsar.oauth2", p.OAuth2 != PulsarOAuth2{}},
	} {
		if m.on {
			out = append(out, m.key)
		}
	}
	return out
}

// Listener is one TCP listener.
type Listener struct {
	// Enabled false leaves the listener closed.
	Enabled bool `yaml:"enabled"`
	// Addr is host:port; port 0 picks a free port.
	Addr string `yaml:"addr"`
	TLS  TLS    `yaml:"tls"`
}

// Kafka is the Kafka listener and the address Kafka clients are told to use.
type Kafka struct {
	Listener `yaml:",inline"`
	// AdvertisedAddr is the host:port put in Metadata answers. Empty derives
	// it from the bound address (see Advertised).
	AdvertisedAddr string `yaml:"advertised_addr"`
	// AutoCreateTopics creates a topic that a producer or a metadata
	// request names and that does not exist (Kafka's
	// auto.create.topics.enable).
	AutoCreateTopics bool `yaml:"auto_create_topics"`
	// DefaultPartitions is the partition count of auto-created topics and
	// of CreateTopics asking for the default (Kafka's num.partitions).
	DefaultPartitions int `yaml:"default_partitions"`
	// PasswordFile is a Mosquitto password file (mosquitto_passwd): when
	// set, Kafka clients must log in with SASL/PLAIN as one of its users.
	PasswordFile string `yaml:"password_file"`
	// Transactions says where Kafka transactions live on the Pulsar
	// backend: "store" (Pulsar's transaction coordinator, so native Pulsar
	// readers never see an aborted record), "markers" (control records the
	// gateway writes, as on the embedded store), or "auto": store when the
	// broker runs a coordinator, else markers. docs/transactions.md.
	Transactions string `yaml:"transactions"`
	// SchemaFraming says how a value in the Confluent wire format (what
	// schema registry serializers write: 0, a 4-byte schema id, the
	// payload) is stored on Pulsar: "keep" whole, or "strip" the header
	// into a property so Pulsar consumers with the topic's schema (and
	// MQTT and AMQP readers) get the payload. Kafka clients read the same
	// bytes either way. docs/schema-registry.md.
	SchemaFraming string `yaml:"schema_framing"`
	// SSLPrincipalMappingRules turn a client certificate's subject into
	// the principal (Kafka's ssl.principal.mapping.rules), with
	// kafka.tls.client_ca_file.
	SSLPrincipalMappingRules string `yaml:"ssl_principal_mapping_rules"`
	// ConnectionsMaxReauth is Kafka's connections.max.reauth.ms (KIP-368):
	// how long a SASL login lasts (an OAUTHBEARER one no longer than its
	// token) before the client must log in again on its connection; 0:
	// for the connection's life.
	ConnectionsMaxReauth time.Duration `yaml:"connections_max_reauth"`
}

// MQTT is the MQTT listener and who may do what on it, in Mosquitto's
// file formats; with neither file set every client may do everything.
type MQTT struct {
	Listener `yaml:",inline"`
	// PasswordFile is a Mosquitto password_file (mosquitto_passwd's
	// user:$7$... lines): a client must log in as one of its users.
	PasswordFile string `yaml:"password_file"`
	// AllowAnonymous lets clients without a username connect when
	// PasswordFile is set.
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// ACLFile is a Mosquitto acl_file: topic and pattern rules per user;
	// what it does not grant is denied.
	ACLFile string `yaml:"acl_file"`
	// UseIdentityAsUsername, with mqtt.tls.client_ca_file, makes the
	// client certificate's CN the username (Mosquitto's option).
	UseIdentityAsUsername bool `yaml:"use_identity_as_username"`
	// WSAddr serves MQTT over WebSocket (ws://host:port/mqtt) on an address
	// of its own, with the TCP listener's sessions, logins and limits;
	// empty: off.
	WSAddr string `yaml:"ws_addr"`
	// WSSAddr is the same over TLS (wss://); empty: off.
	WSSAddr string `yaml:"wss_addr"`
	// WSSTLS is the wss listener's certificate; unset, mqtt.tls's.
	WSSTLS TLS `yaml:"wss_tls"`
}

// WS is the MQTT over WebSocket listener (ws://).
func (m MQTT) WS() Listener {
	return Listener{Enabled: m.Enabled && m.WSAddr != "", Addr: m.WSAddr}
}

// WSS is the MQTT over secure WebSocket listener (wss://): its TLS is
// mqtt.wss_tls, or mqtt.tls's certificate (and client CA, unless
// mqtt.wss_tls names one) when that has no certificate.
func (m MQTT) WSS() Listener {
	t := m.WSSTLS
	if t.CertFile == "" && t.KeyFile == "" {
		t.CertFile, t.KeyFile = m.TLS.CertFile, m.TLS.KeyFile
		if t.ClientCAFile == "" {
			t.ClientCAFile = m.TLS.ClientCAFile
		}
	}
	return Listener{Enabled: m.Enabled && m.WSSAddr != "", Addr: m.WSSAddr, TLS: t}
}

// AMQP is the AMQP listener and who may log in on it.
type AMQP struct {
	Listener `yaml:",inline"`
	// SSLCertLoginFrom, with amqp.tls.client_ca_file, is which part of
	// the client certificate is the EXTERNAL login's user, as RabbitMQ's
	// ssl_cert_login_from: distinguished_name or common_name.
	SSLCertLoginFrom string `yaml:"ssl_cert_login_from"`
	// PasswordFile is a Mosquitto password file (mosquitto_passwd): when
	// set, AMQP clients must log in (PLAIN or AMQPLAIN) as one of its users;
	// empty accepts any login.
	PasswordFile string `yaml:"password_file"`
	// Management is RabbitMQ's management HTTP API (the part tools use:
	// rabbitmqadmin, KEDA), off unless enabled; RabbitMQ's port 15672.
	Management Listener `yaml:"management"`
}

// RocketMQ is the RocketMQ remoting listener: the gateway answers as the
// name server and as the one broker, on one port.
type RocketMQ struct {
	Listener `yaml:",inline"`
	// AdvertisedAddr is the broker address put in route answers. Empty
	// derives it from the bound address (see Advertised).
	AdvertisedAddr string `yaml:"advertised_addr"`
	// AutoCreateTopics creates a topic a producer sends to that does not
	// exist (RocketMQ's autoCreateTopicEnable), with the queue count the
	// producer asks for (defaultTopicQueueNums).
	AutoCreateTopics bool `yaml:"auto_create_topics"`
}

// Advertised is the address RocketMQ clients are told to use, as
// Kafka.Advertised.
func (r RocketMQ) Advertised(bound net.Addr) string {
	return Kafka{Listener: r.Listener, AdvertisedAddr: r.AdvertisedAddr}.Advertised(bound)
}

// SchemaRegistry is the schema registry's HTTP listener (the Confluent
// Schema Registry's REST API) and who may use it.
type SchemaRegistry struct {
	Listener `yaml:",inline"`
	// PasswordFile is a Mosquitto password file (mosquitto_passwd): when
	// set, requests must carry HTTP Basic credentials of one of its users.
	PasswordFile string `yaml:"password_file"`
}

// Auth is who may connect, for every protocol at once.
type Auth struct {
	// PasswordFile is the one identity store: a Mosquitto password file
	// (mosquitto_passwd) whose users log in to Kafka (SASL), MQTT, AMQP
	// and the schema registry. A protocol's own password_file, when set,
	// is used for that protocol instead.
	PasswordFile string `yaml:"password_file"`
	// Open names the protocols left without logins on purpose while
	// others require them (comma-separated: kafka, mqtt, amqp,
	// schema_registry); any other such protocol stops the start.
	Open string `yaml:"open"`
	// SuperUsers are the users (comma-separated names) who may manage
	// others: Kafka's super.users (SCRAM credentials through
	// kafka-configs).
	SuperUsers string `yaml:"super_users"`
	// JWKSFile or JWKSURL turn on token logins (Kafka OAUTHBEARER): a
	// JWT signed by one of the set's keys, not expired, with the audience
	// and issuer below when set; the subject claim names the principal.
	JWKSFile        string `yaml:"jwks_file"`
	JWKSURL         string `yaml:"jwks_url"`
	JWTAudience     string `yaml:"jwt_audience"`
	JWTIssuer       string `yaml:"jwt_issuer"`
	JWTSubjectClaim string `yaml:"jwt_subject_claim"`
	// ACLFile turns authorization on for every protocol: the rules
	// (authz package) of who may do what to which topic, group,
	// transactional id, vhost or exchange, besides those made through
	// Kafka's CreateAcls. What no rule allows is denied; super users may
	// do everything.
	ACLFile string `yaml:"acl_file"`
}

// Tokens reports whether token logins are configured.
func (a Auth) Tokens() bool { return a.JWKSFile != "" || a.JWKSURL != "" }

// SuperUserList is auth.super_users as names.
func (a Auth) SuperUserList() []string {
	var out []string
	for _, s := range strings.Split(a.SuperUsers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loginServices are what a login can be required for, in config order.
var loginServices = []string{"kafka", "mqtt", "amqp", "schema_registry"}

// LoginsOn reports whether a service requires a login: a password file,
// or token logins (a JWT: Kafka OAUTHBEARER; the password of MQTT, AMQP
// and the schema registry's Basic login, or its Bearer header).
func (c *Config) LoginsOn(service string) bool {
	return c.PasswordFile(service) != "" || c.Auth.Tokens() || c.clientCerts(service)
}

// clientCerts reports whether a service's listener requires client
// certificates, which are logins.
func (c *Config) clientCerts(service string) bool {
	return c.listenerOf(service).TLS.ClientCAFile != ""
}

// PasswordFile is the password file a service checks logins against: its
// own, else auth.password_file; "" when it requires none.
func (c *Config) PasswordFile(service string) string {
	own := map[string]string{"kafka": c.Kafka.PasswordFile, "mqtt": c.MQTT.PasswordFile,
		"amqp": c.AMQP.PasswordFile, "schema_registry": c.SchemaRegistry.PasswordFile}[service]
	if own != "" {
		return own
	}
	return c.Auth.PasswordFile
}

// serviceEnabled reports whether a login service listens.
func (c *Config) serviceEnabled(service string) bool { return c.listenerOf(service).Enabled }

// listenerOf is a service's listener, as listeners names them.
func (c *Config) listenerOf(service string) Listener {
	for _, l := range c.listeners() {
		if l.key == service {
			return l.Listener
		}
	}
	return Listener{}
}

// TLS turns a listener into a TLS listener when both files are set.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile, with TLS on, requires every client to present a
	// certificate signed by one of its CAs: the certificate is then the
	// client's login (Kafka: its subject through
	// kafka.ssl_principal_mapping_rules; MQTT with
	// mqtt.use_identity_as_username: its CN).
	ClientCAFile string `yaml:"client_ca_file"`
}

// Log configures the process log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // json or console
}

// Limits bound what one client can hold.
type Limits struct {
	// MaxConnections is per protocol; 0 means no limit.
	MaxConnections int `yaml:"max_connections"`
	// ReadTimeout closes a connection that sends nothing for this long;
	// 0 leaves it to the protocol (MQTT keep-alive, AMQP heartbeats).
	ReadTimeout time.Duration `yaml:"read_timeout"`
}

// Shutdown configures a graceful stop.
type Shutdown struct {
	// DrainTimeout is how long open connections may take to finish after
	// SIGTERM before they are closed.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
}

// Default is the configuration with nothing set.
func Default() *Config {
	return &Config{
		Backend:   BackendEmbedded,
		DataDir:   "./data",
		Tenant:    "public",
		Namespace: "default",
		Pulsar: Pulsar{
			URL:                  "pulsar://127.0.0.1:6650",
			AdminURL:             "http://127.0.0.1:8080",
			MaxClientConnections: 100,
		},
		Kafka: Kafka{Listener: Listener{Enabled: true, Addr: ":9092"}, AutoCreateTopics: true, DefaultPartitions: 1, Transactions: "auto", SchemaFraming: "keep", SSLPrincipalMappingRules: "DEFAULT"},
		MQTT:  MQTT{Listener: Listener{Enabled: true, Addr: ":1883"}},
		AMQP: AMQP{Listener: Listener{Enabled: true, Addr: ":5672"}, SSLCertLoginFrom: "distinguished_name",
			Management: Listener{Addr: ":15672"}},
		// Off unless enabled; 9876 is the RocketMQ name server's port.
		RocketMQ: RocketMQ{Listener: Listener{Addr: "127.0.0.1:9876"}, AutoCreateTopics: true},
		// Not 8080: Pulsar's admin API is there, often on the same host.
		HTTP: Listener{Enabled: true, Addr: ":8081"},
		// Not the Confluent registry's 8081: the HTTP listener has it.
		SchemaRegistry: SchemaRegistry{Listener: Listener{Enabled: true, Addr: ":8085"}},
		Log:            Log{Level: "info", Format: "json"},
		Limits:         Limits{MaxConnections: 10000},
		Shutdown:       Shutdown{DrainTimeout: 10 * time.Second},
		Metrics:        Metrics{SampleInterval: 15 * time.Second, MaxSeries: 100},
		Console:        Console{Enabled: true},
	}
}
