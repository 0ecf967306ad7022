package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EnvPrefix starts every environment variable the gateway reads.
const EnvPrefix = "PULSAR_GATEWAY_"

// Setting is one configurable value, named three ways.
type Setting struct {
	Key   string // YAML path, e.g. "kafka.tls.cert_file"
	Flag  string // e.g. "kafka-tls-cert-file"; empty for secrets, which stay off command lines
	Env   string // e.g. "PULSAR_GATEWAY_KAFKA_TLS_CERT_FILE"
	Usage string

	index []int // path to the field in Config, for reflect
	typ   reflect.Type
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// Settings lists every setting in Config order. It is derived from Config's
// yaml tags, so a new field is a new key, env variable and flag at once.
// The slice is shared: do not modify it.
func Settings() []Setting { return settings() }

var settings = sync.OnceValue(func() []Setting {
	var out []Setting
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			idx := append(append([]int(nil), index...), i)
			if opts == "inline" {
				walk(f.Type, prefix, idx)
				continue
			}
			key := prefix + name
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key+".", idx)
				continue
			}
			s := Setting{
				Key:   key,
				Env:   EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key)),
				Usage: usage[key],
				index: idx,
				typ:   f.Type,
			}
			if f.Type != secretType {
				s.Flag = strings.NewReplacer(".", "-", "_", "-").Replace(key)
			}
			out = append(out, s)
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return out
})

func (s Setting) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(s.index)
}

// isBool reports whether the setting is a switch (a flag without a value).
func (s Setting) isBool() bool { return s.typ.Kind() == reflect.Bool }

// Get formats the setting's value in c, secrets redacted.
func (s Setting) Get(c *Config) string {
	v := s.field(c)
	if s.typ == secretType {
		return v.Interface().(Secret).String()
	}
	if s.typ == durationType {
		return time.Duration(v.Int()).String()
	}
	return fmt.Sprint(v.Interface())
}

// set parses raw (from an environment variable or a flag) into c.
func (s Setting) set(c *Config, raw string) error {
	v := s.field(c)
	switch {
	case s.typ == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration (such as 500ms, 10s, 1m)", raw)
		}
		v.SetInt(int64(d))
	case s.typ.Kind() == reflect.String:
		v.SetString(raw)
	case s.typ.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case s.typ.Kind() == reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		v.SetInt(int64(n))
	default:
		// Only reachable when Config gains a field of a new kind.
		return fmt.Errorf("unsupported type %s", s.typ)
	}
	return nil
}

// usage documents each key; TestEverySettingDocumented keeps it complete.
var usage = map[string]string{
	"backend":                            "message store: embedded (local, under data_dir) or pulsar",
	"data_dir":                           "directory of the embedded backend's store",
	"tenant":                             "Pulsar tenant for topic names",
	"namespace":                          "Pulsar namespace for topic names",
	"pulsar.url":                         "Pulsar service URL (pulsar:// or pulsar+ssl://)",
	"pulsar.admin_url":                   "Pulsar admin API URL (http:// or https://)",
	"pulsar.auth_token":                  "Pulsar token; YAML or env only, so it stays out of process lists",
	"pulsar.act_as_clients":              "act in Pulsar as each client's own principal (its user; ANONYMOUS without a login): Pulsar's authorization applies per user. Kafka batches then go message by message. Needs pulsar.client_token_key_file",
	"pulsar.client_token_key_file":       "with pulsar.act_as_clients: the key Pulsar's token authentication checks (its tokenSecretKey, or the PEM private key of its tokenPublicKey); the gateway signs each user's tokens with it",
	"pulsar.max_client_connections":      "with pulsar.act_as_clients: how many users' Pulsar clients stay open; past it the least recently used idle one is closed",
	"pulsar.auth_token_file":             "file holding the Pulsar token, read again at each connection so a rotated token is used",
	"pulsar.tls.ca_file":                 "CA certificates (PEM) the broker's certificate must chain to, for pulsar+ssl:// and https:// (default: the system's); the hostname is always verified",
	"pulsar.tls.server_name":             "name the broker's certificate must carry, when it is not the URL's host",
	"pulsar.tls.cert_file":               "client certificate (PEM) the gateway logs in to Pulsar with (Pulsar's TLS authentication; the role is its CN); set with key_file",
	"pulsar.tls.key_file":                "private key (PEM) of pulsar.tls.cert_file",
	"pulsar.oauth2.issuer_url":           "OAuth2 issuer (its /.well-known/openid-configuration names the token endpoint): the gateway logs in to Pulsar with client credentials, as pulsar-client-go's AuthenticationOAuth2",
	"pulsar.oauth2.private_key_file":     "OAuth2 credentials file (JSON with client_id and client_secret), pulsar-client-go's privateKey",
	"pulsar.oauth2.audience":             "OAuth2 audience of the access token",
	"pulsar.oauth2.scope":                "OAuth2 scopes to ask for (space-separated)",
	"kafka.enabled":                      "serve Kafka",
	"kafka.addr":                         "Kafka listen address host:port (port 0 picks a free port)",
	"kafka.tls.cert_file":                "Kafka TLS certificate (PEM); set with key_file to enable TLS",
	"kafka.tls.key_file":                 "Kafka TLS private key (PEM)",
	"kafka.tls.client_ca_file":           "CA certificates (PEM): Kafka clients must present a certificate they signed, and are logged in as its subject mapped by kafka.ssl_principal_mapping_rules",
	"kafka.advertised_addr":              "host:port Kafka clients are told to connect to (default: listen host, or 127.0.0.1, and the bound port)",
	"kafka.auto_create_topics":           "create a topic a producer or metadata request names that does not exist (Kafka's auto.create.topics.enable)",
	"kafka.default_partitions":           "partitions of auto-created topics and of CreateTopics without a count (Kafka's num.partitions)",
	"kafka.transactions":                 "where Kafka transactions live on Pulsar: store (the broker's transaction coordinator; native readers never see aborted records), markers (control records the gateway writes), or auto (store when the broker has a coordinator; docs/transactions.md)",
	"kafka.schema_framing":               "values in the Confluent wire format (0, a 4-byte schema id, the payload) on Pulsar: keep them whole, or strip the header into a property so Pulsar consumers with the topic's schema get the payload (Kafka clients read the same bytes either way; pulsar backend only)",
	"kafka.ssl_principal_mapping_rules":  "how a client certificate's subject becomes the principal: Kafka's ssl.principal.mapping.rules (RULE:pattern/replacement/[LU], ..., DEFAULT)",
	"kafka.connections_max_reauth":       "how long a Kafka SASL login lasts before the client must log in again on its connection (Kafka's connections.max.reauth.ms, KIP-368; an OAUTHBEARER login no longer than its token); 0s: the connection's life",
	"kafka.password_file":                "Mosquitto password file (mosquitto_passwd): Kafka clients must log in with SASL/PLAIN as one of its users",
	"mqtt.enabled":                       "serve MQTT",
	"mqtt.addr":                          "MQTT listen address host:port",
	"mqtt.tls.cert_file":                 "MQTT TLS certificate (PEM)",
	"mqtt.tls.key_file":                  "MQTT TLS private key (PEM)",
	"mqtt.tls.client_ca_file":            "CA certificates (PEM): MQTT clients must present a certificate they signed (with mqtt.use_identity_as_username its CN is the username)",
	"mqtt.password_file":                 "Mosquitto password file (mosquitto_passwd): clients must log in as one of its users",
	"mqtt.allow_anonymous":               "with mqtt.password_file, let clients without a username connect",
	"mqtt.use_identity_as_username":      "with mqtt.tls.client_ca_file: the client certificate's CN is the username (Mosquitto's use_identity_as_username), for logins and ACLs",
	"mqtt.acl_file":                      "Mosquitto ACL file: topic/pattern rules (%u, %c) per user; what it does not grant is denied",
	"mqtt.ws_addr":                       "MQTT over WebSocket listen address host:port (ws://HOST:PORT/mqtt, subprotocol mqtt or mqttv3.1; same sessions, logins and limits as mqtt.addr); empty: off",
	"mqtt.wss_addr":                      "MQTT over secure WebSocket listen address host:port (wss://HOST:PORT/mqtt), with mqtt.wss_tls's certificate or else mqtt.tls's; empty: off",
	"mqtt.wss_tls.cert_file":             "wss:// TLS certificate (PEM); unset: mqtt.tls.cert_file",
	"mqtt.wss_tls.key_file":              "wss:// TLS private key (PEM); unset: mqtt.tls.key_file",
	"mqtt.wss_tls.client_ca_file":        "CA certificates (PEM): wss:// clients must present a certificate they signed; unset: mqtt.tls.client_ca_file when the certificate is mqtt.tls's",
	"amqp.enabled":                       "serve AMQP 0-9-1",
	"amqp.addr":                          "AMQP listen address host:port",
	"amqp.tls.cert_file":                 "AMQP TLS certificate (PEM)",
	"amqp.tls.key_file":                  "AMQP TLS private key (PEM)",
	"amqp.tls.client_ca_file":            "CA certificates (PEM): AMQP clients must present a certificate they signed",
	"amqp.ssl_cert_login_from":           "with amqp.tls.client_ca_file: the client certificate's distinguished_name or common_name is the EXTERNAL login's user (RabbitMQ's ssl_cert_login_from), who must be in the password file when there is one, as in RabbitMQ's user database",
	"amqp.password_file":                 "Mosquitto password file (mosquitto_passwd): AMQP clients must log in (PLAIN or AMQPLAIN) as one of its users; unset accepts any login",
	"rocketmq.enabled":                   "serve RocketMQ's remoting protocol (name server and broker on one port; clients in remoting mode, Java 4.x/5.x and rocketmq-client-go)",
	"rocketmq.addr":                      "RocketMQ listen address host:port (the name server address clients are given; RocketMQ's 9876)",
	"rocketmq.tls.cert_file":             "RocketMQ TLS certificate (PEM); set with key_file to enable TLS (clients then need useTLS)",
	"rocketmq.tls.key_file":              "RocketMQ TLS private key (PEM)",
	"rocketmq.tls.client_ca_file":        "CA certificates (PEM): RocketMQ clients must present a certificate they signed",
	"rocketmq.advertised_addr":           "host:port RocketMQ clients are told is the broker's address in route answers (default: listen host, or 127.0.0.1, and the bound port)",
	"rocketmq.auto_create_topics":        "create a topic a RocketMQ producer sends to that does not exist, with the queue count it asks for (RocketMQ's autoCreateTopicEnable)",
	"amqp.management.enabled":            "serve RabbitMQ's management HTTP API (the part rabbitmqadmin and KEDA's RabbitMQ scaler use; needs amqp.enabled): HTTP Basic logins of the AMQP users, or guest/guest from loopback only when AMQP takes any login",
	"amqp.management.addr":               "AMQP management API listen address host:port (RabbitMQ's 15672)",
	"amqp.management.tls.cert_file":      "AMQP management API TLS certificate (PEM)",
	"amqp.management.tls.key_file":       "AMQP management API TLS private key (PEM)",
	"amqp.management.tls.client_ca_file": "CA certificates (PEM): AMQP management API clients must present a certificate they signed",
	"http.enabled":                       "serve /healthz, /readyz and /metrics",
	"http.addr":                          "HTTP listen address host:port",
	"http.tls.cert_file":                 "HTTP TLS certificate (PEM)",
	"http.tls.key_file":                  "HTTP TLS private key (PEM)",
	"http.tls.client_ca_file":            "CA certificates (PEM): HTTP clients must present a certificate they signed",
	"schema_registry.enabled":            "serve the schema registry (the Confluent Schema Registry's REST API; state shared by every gateway on the store)",
	"schema_registry.addr":               "schema registry listen address host:port",
	"schema_registry.tls.cert_file":      "schema registry TLS certificate (PEM)",
	"schema_registry.tls.key_file":       "schema registry TLS private key (PEM)",
	"schema_registry.tls.client_ca_file": "CA certificates (PEM): schema registry clients must present a certificate they signed, which logs them in",
	"schema_registry.password_file":      "Mosquitto password file (mosquitto_passwd): schema registry requests must carry HTTP Basic credentials of one of its users",
	"auth.password_file":                 "one Mosquitto password file (mosquitto_passwd) for every protocol: Kafka SASL, MQTT, AMQP and the schema registry require a login of one of its users (a protocol's own password_file overrides it)",
	"auth.open":                          "protocols left without logins on purpose while others require them (comma-separated: kafka, mqtt, amqp, schema_registry); any other such protocol stops the start",
	"auth.super_users":                   "users (comma-separated names) who may manage others: Kafka's super.users (SCRAM credentials through kafka-configs; with auth.acl_file, they may do everything)",
	"auth.acl_file":                      "authorization for every protocol: a YAML file of Kafka-style ACLs (principal, resource, pattern, operations, allow/deny; deny wins) over topics (Kafka topics, MQTT topics and AMQP queues by their mapped names), groups, transactional ids, the cluster, AMQP vhosts and exchanges; kafka-acls adds more. What no rule allows is denied; auth.super_users may do everything",
	"auth.jwks_file":                     "JSON Web Key Set file (re-read when it changes): clients may log in with a JWT one of its keys signed (Kafka SASL/OAUTHBEARER; as the password of MQTT, AMQP and the schema registry, whose username must be its subject)",
	"auth.jwks_url":                      "JSON Web Key Set URL (refreshed), instead of auth.jwks_file",
	"auth.jwt_audience":                  "with a JWKS: a token's aud must include this (unset: not checked)",
	"auth.jwt_issuer":                    "with a JWKS: a token's iss must be this (unset: not checked)",
	"auth.jwt_subject_claim":             "with a JWKS: the claim that names the principal (default sub)",
	"log.level":                          "log level: debug, info, warn or error",
	"log.format":                         "log format: json or console",
	"limits.max_connections":             "connections per protocol; more are closed at once (0: no limit)",
	"limits.read_timeout":                "close a connection silent this long (0s: the protocol decides)",
	"metrics.sample_interval":            "how often backlogs (Kafka lag, MQTT sessions, AMQP queues) are read from the backend for /metrics",
	"metrics.max_series":                 "export only the largest N series of each per-topic, per-group or per-session gauge (0: all)",
	"console.enabled":                    "serve the read-only web console at /console/ on the HTTP address (behind auth.password_file's logins when set)",
	"shutdown.drain_timeout":             "on SIGTERM, how long connections may take to finish before they are closed",
}
