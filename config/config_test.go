package config

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envOf is an environment made of a map, for Load's env argument.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes a file in the test's temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad loads and fails the test on error.
func mustLoad(t *testing.T, args []string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Load(args, envOf(env))
	if err != nil {
		t.Fatalf("Load(%q): %v", args, err)
	}
	return cfg
}

// loadErr loads, expects an error on one line, and returns its text.
func loadErr(t *testing.T, args []string, env map[string]string) string {
	t.Helper()
	_, err := Load(args, envOf(env))
	if err == nil {
		t.Fatalf("Load(%q): want an error, got none", args)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines; want one:\n%s", err)
	}
	return err.Error()
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, nil, nil)
	checks := []struct{ key, want string }{
		{"backend", "embedded"},
		{"data_dir", "./data"},
		{"tenant", "public"},
		{"namespace", "default"},
		{"pulsar.url", "pulsar://127.0.0.1:6650"},
		{"pulsar.admin_url", "http://127.0.0.1:8080"},
		{"kafka.enabled", "true"},
		{"kafka.addr", ":9092"},
		{"kafka.advertised_addr", ""},
		{"kafka.auto_create_topics", "true"},
		{"kafka.default_partitions", "1"},
		{"mqtt.addr", ":1883"},
		{"amqp.addr", ":5672"},
		{"http.addr", ":8081"},
		{"log.level", "info"},
		{"log.format", "json"},
		{"limits.max_connections", "10000"},
		{"limits.read_timeout", "0s"},
		{"shutdown.drain_timeout", "10s"},
	}
	got := cfg.Redacted()
	for _, c := range checks {
		if got[c.key] != c.want {
			t.Errorf("default %s = %q, want %q", c.key, got[c.key], c.want)
		}
	}
	if a := cfg.Kafka.Advertised(nil); a != "127.0.0.1:9092" {
		t.Errorf("default advertised address = %q, want 127.0.0.1:9092", a)
	}
}

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	file := writeFile(t, "gw.yaml", `
kafka:
  addr: "127.0.0.1:1001"
mqtt:
  addr: "127.0.0.1:2001"
amqp:
  addr: "127.0.0.1:3001"
`)
	env := map[string]string{
		"PULSAR_GATEWAY_MQTT_ADDR": "127.0.0.1:2002",
		"PULSAR_GATEWAY_AMQP_ADDR": "127.0.0.1:3002",
	}
	cfg := mustLoad(t, []string{"--config", file, "--amqp-addr", "127.0.0.1:3003"}, env)

	if cfg.Kafka.Addr != "127.0.0.1:1001" {
		t.Errorf("kafka.addr = %q, want the file's 127.0.0.1:1001", cfg.Kafka.Addr)
	}
	if cfg.MQTT.Addr != "127.0.0.1:2002" {
		t.Errorf("mqtt.addr = %q, want env's 127.0.0.1:2002 over the file", cfg.MQTT.Addr)
	}
	if cfg.AMQP.Addr != "127.0.0.1:3003" {
		t.Errorf("amqp.addr = %q, want the flag's 127.0.0.1:3003 over env and file", cfg.AMQP.Addr)
	}
	if cfg.HTTP.Addr != ":8081" {
		t.Errorf("http.addr = %q, want the default :8081", cfg.HTTP.Addr)
	}
}

func TestConfigFileFromEnv(t *testing.T) {
	file := writeFile(t, "gw.yaml", "tenant: acme\n")
	cfg := mustLoad(t, nil, map[string]string{"PULSAR_GATEWAY_CONFIG": file})
	if cfg.Tenant != "acme" {
		t.Errorf("tenant = %q, want acme from the file named by PULSAR_GATEWAY_CONFIG", cfg.Tenant)
	}
}

func TestEveryTypeFromEveryLayer(t *testing.T) {
	file := writeFile(t, "gw.yaml", `
backend: pulsar
data_dir: /var/lib/gw
pulsar:
  url: pulsar+ssl://broker:6651
  admin_url: https://broker:8443
  auth_token: from-file
kafka:
  advertised_addr: kafka.example.com:9092
mqtt:
  enabled: false
limits:
  max_connections: 5
  read_timeout: 30s
shutdown:
  drain_timeout: 1m
log:
  level: debug
  format: console
`)
	cfg := mustLoad(t, []string{"--config", file}, nil)
	want := Default()
	want.Backend = BackendPulsar
	want.DataDir = "/var/lib/gw"
	want.Pulsar = Pulsar{URL: "pulsar+ssl://broker:6651", AdminURL: "https://broker:8443", AuthToken: "from-file", MaxClientConnections: 100}
	want.Kafka.AdvertisedAddr = "kafka.example.com:9092"
	want.MQTT.Enabled = false
	want.Limits = Limits{MaxConnections: 5, ReadTimeout: 30 * time.Second}
	want.Shutdown.DrainTimeout = time.Minute
	want.Log = Log{Level: "debug", Format: "console"}
	if *cfg != *want {
		t.Errorf("from file:\n got %+v\nwant %+v", *cfg, *want)
	}

	env := map[string]string{
		"PULSAR_GATEWAY_LIMITS_MAX_CONNECTIONS": "7",
		"PULSAR_GATEWAY_LIMITS_READ_TIMEOUT":    "0",
		"PULSAR_GATEWAY_MQTT_ENABLED":           "true",
		"PULSAR_GATEWAY_PULSAR_AUTH_TOKEN":      "from-env",
	}
	cfg = mustLoad(t, []string{"--config", file, "--shutdown-drain-timeout=2s", "--amqp-enabled=false", "--kafka-enabled"}, env)
	if cfg.Limits.MaxConnections != 7 || cfg.Limits.ReadTimeout != 0 {
		t.Errorf("limits = %+v, want env's 7 and 0", cfg.Limits)
	}
	if !cfg.MQTT.Enabled || cfg.AMQP.Enabled || !cfg.Kafka.Enabled {
		t.Errorf("enabled: mqtt %v amqp %v kafka %v; want true false true", cfg.MQTT.Enabled, cfg.AMQP.Enabled, cfg.Kafka.Enabled)
	}
	if cfg.Shutdown.DrainTimeout != 2*time.Second {
		t.Errorf("drain_timeout = %s, want the flag's 2s", cfg.Shutdown.DrainTimeout)
	}
	if cfg.Pulsar.AuthToken.Reveal() != "from-env" {
		t.Errorf("auth token = %q, want env's over the file", cfg.Pulsar.AuthToken.Reveal())
	}
}

func TestFileErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top-level key", "kafak:\n  addr: :1\n", `line 1: unknown key "kafak"`},
		{"unknown nested key", "kafka:\n  enabled: true\n  adr: :1\n", `line 3: unknown key "kafka.adr"`},
		{"unknown key under tls", "mqtt:\n  tls:\n    cert: x\n", `line 3: unknown key "mqtt.tls.cert"`},
		{"wrong type", "limits:\n  max_connections: lots\n", "line 2: limits.max_connections: cannot unmarshal !!str `lots` into int"},
		{"duration without unit", "limits:\n  read_timeout: 30\n", "line 2: limits.read_timeout: `30` is not a duration"},
		{"section given a scalar", "kafka: on\n", "line 1: kafka: cannot unmarshal"},
		{"not a mapping", "- a\n- b\n", "the file must be a mapping"},
		{"bad yaml", "kafka: [\n", "did not find expected node content"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, "gw.yaml", c.yaml)
			msg := loadErr(t, []string{"--config", file}, nil)
			if !strings.HasPrefix(msg, "config: "+file+": ") || !strings.Contains(msg, c.want) {
				t.Errorf("error = %q\nwant %q after the file name", msg, c.want)
			}
		})
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "---\n"} {
		file := writeFile(t, "gw.yaml", content)
		cfg := mustLoad(t, []string{"--config", file}, nil)
		if *cfg != *Default() {
			t.Errorf("file %q changed the defaults: %+v", content, *cfg)
		}
	}
}

func TestMissingFile(t *testing.T) {
	msg := loadErr(t, []string{"--config", "/nonexistent/gw.yaml"}, nil)
	if !strings.Contains(msg, "/nonexistent/gw.yaml") || !strings.Contains(msg, "no such file") {
		t.Errorf("error = %q, want the path and the reason", msg)
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"missing port", []string{"--kafka-addr", "foo"}, nil, `config: kafka.addr: "foo": missing port in address`},
		{"port not a number", []string{"--mqtt-addr", "localhost:mqtt"}, nil, `config: mqtt.addr: "localhost:mqtt": port "mqtt" must be a number from 0 to 65535`},
		{"port too large", []string{"--amqp-addr", ":70000"}, nil, `amqp.addr: ":70000": port "70000" must be a number`},
		{"two listeners on one port", []string{"--mqtt-addr", ":9092"}, nil, `mqtt.addr: ":9092": also used by kafka.addr`},
		{"ws on the MQTT port", []string{"--mqtt-ws-addr", ":1883"}, nil, `mqtt.ws_addr: ":1883": also used by mqtt.addr`},
		{"ws bad address", []string{"--mqtt-ws-addr", "8083"}, nil, `mqtt.ws_addr: "8083": missing port in address`},
		{"wss without a certificate", []string{"--mqtt-wss-addr", ":8084"}, nil, `mqtt.wss_addr: needs a certificate`},
		{"wss certificate missing", []string{"--mqtt-wss-addr", ":8084", "--mqtt-wss-tls-cert-file", "/nonexistent.pem", "--mqtt-wss-tls-key-file", "/nonexistent.pem"}, nil, `mqtt.wss_tls: `},
		{"backend", []string{"--backend", "kafka"}, nil, `config: backend: "kafka": must be embedded or pulsar`},
		{"pulsar url scheme", []string{"--backend", "pulsar", "--pulsar-url", "http://x:6650"}, nil, `pulsar.url: "http://x:6650": scheme must be pulsar or pulsar+ssl`},
		{"admin url scheme", []string{"--backend", "pulsar", "--pulsar-admin-url", "broker:8080"}, nil, `pulsar.admin_url: "broker:8080": scheme must be http or https`},
		{"empty data dir", []string{"--data-dir", ""}, nil, "data_dir: must be set"},
		{"tenant with slash", []string{"--tenant", "a/b"}, nil, `tenant: "a/b": must be a non-empty name`},
		{"log level", []string{"--log-level", "loud"}, nil, `log.level: "loud": must be debug, info, warn or error`},
		{"log format", []string{"--log-format", "xml"}, nil, `log.format: "xml": must be json or console`},
		{"zero default partitions", []string{"--kafka-default-partitions", "0"}, nil, "kafka.default_partitions: 0: must be 1 or more"},
		{"negative limit", []string{"--limits-max-connections", "-1"}, nil, "limits.max_connections: -1: must be 0 (no limit) or more"},
		{"negative drain", []string{"--shutdown-drain-timeout", "-1s"}, nil, "shutdown.drain_timeout: -1s: must not be negative"},
		{"advertised port 0", []string{"--kafka-advertised-addr", "kafka:0"}, nil, `kafka.advertised_addr: "kafka:0": needs a host and a port other than 0`},
		{"advertised without host", []string{"--kafka-advertised-addr", ":9092"}, nil, `kafka.advertised_addr: ":9092": needs a host`},
		{"tls half set", []string{"--kafka-tls-cert-file", "c.pem"}, nil, "kafka.tls: cert_file and key_file must be set together"},
		{"tls files missing", []string{"--http-tls-cert-file", "/nonexistent/c.pem", "--http-tls-key-file", "/nonexistent/k.pem"}, nil, "http.tls: open /nonexistent/c.pem: no such file"},
		{"env value", nil, map[string]string{"PULSAR_GATEWAY_LIMITS_MAX_CONNECTIONS": "many"}, `config: limits.max_connections (from PULSAR_GATEWAY_LIMITS_MAX_CONNECTIONS): "many" is not an integer`},
		{"env bool", nil, map[string]string{"PULSAR_GATEWAY_KAFKA_ENABLED": "yes"}, `kafka.enabled (from PULSAR_GATEWAY_KAFKA_ENABLED): "yes" is not true or false`},
		{"flag value", []string{"--limits-read-timeout", "5"}, nil, `config: invalid value "5" for flag -limits-read-timeout: "5" is not a duration`},
		{"unknown flag", []string{"--kafka-adr", ":1"}, nil, "config: flag provided but not defined: -kafka-adr"},
		{"secret as flag", []string{"--pulsar-auth-token", "t"}, nil, "flag provided but not defined: -pulsar-auth-token"},
		{"positional argument", []string{"serve"}, nil, `config: unexpected argument "serve"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if msg := loadErr(t, c.args, c.env); !strings.Contains(msg, c.want) {
				t.Errorf("error = %q\nwant it to contain %q", msg, c.want)
			}
		})
	}
}

func TestValidationReportsEveryProblem(t *testing.T) {
	msg := loadErr(t, []string{"--kafka-addr", "foo", "--log-format", "xml"}, nil)
	if !strings.Contains(msg, "kafka.addr") || !strings.Contains(msg, "log.format") {
		t.Errorf("error = %q, want both kafka.addr and log.format named", msg)
	}
}

func TestPortZeroAndDisabledListeners(t *testing.T) {
	cfg := mustLoad(t, []string{"--kafka-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--amqp-addr", ":0", "--http-addr", ":0"}, nil)
	if cfg.Kafka.Addr != "127.0.0.1:0" {
		t.Errorf("kafka.addr = %q", cfg.Kafka.Addr)
	}
	// A switched-off listener's address is not checked: it is never bound.
	mustLoad(t, []string{"--mqtt-enabled=false", "--mqtt-addr", "nonsense"}, nil)
}

func TestTLSLoads(t *testing.T) {
	cert, key := selfSigned(t)
	cfg := mustLoad(t, []string{"--mqtt-tls-cert-file", cert, "--mqtt-tls-key-file", key}, nil)
	tc, err := cfg.MQTT.TLS.Load()
	if err != nil || tc == nil || len(tc.Certificates) != 1 {
		t.Fatalf("MQTT TLS config = %v, %v; want one certificate", tc, err)
	}
	if tc, err := cfg.Kafka.TLS.Load(); tc != nil || err != nil {
		t.Errorf("Kafka without TLS files: Load() = %v, %v; want nil, nil", tc, err)
	}
}

func TestKafkaAdvertised(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4zero, Port: 40123}
	cases := []struct {
		listen, advertised string
		bound              net.Addr
		want               string
	}{
		{":9092", "", nil, "127.0.0.1:9092"},
		{"0.0.0.0:9092", "", nil, "127.0.0.1:9092"},
		{"[::]:9092", "", nil, "127.0.0.1:9092"},
		{"10.1.2.3:9092", "", nil, "10.1.2.3:9092"},
		{"gw.local:9092", "", nil, "gw.local:9092"},
		{":0", "", bound, "127.0.0.1:40123"},
		{"10.1.2.3:0", "", bound, "10.1.2.3:40123"},
		{":9092", "kafka.example.com:19092", bound, "kafka.example.com:19092"},
	}
	for _, c := range cases {
		k := Kafka{Listener: Listener{Addr: c.listen}, AdvertisedAddr: c.advertised}
		if got := k.Advertised(c.bound); got != c.want {
			t.Errorf("listen %q advertised %q bound %v: got %q, want %q", c.listen, c.advertised, c.bound, got, c.want)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	const token = "s3cr3t-token-value"
	cfg := mustLoad(t, nil, map[string]string{"PULSAR_GATEWAY_PULSAR_AUTH_TOKEN": token})
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":       fmt.Sprintf("%v", cfg),
		"%+v":      fmt.Sprintf("%+v", *cfg),
		"%#v":      fmt.Sprintf("%#v", *cfg),
		"json":     string(js),
		"Redacted": fmt.Sprint(cfg.Redacted()),
	}
	for how, out := range outputs {
		if strings.Contains(out, token) {
			t.Errorf("%s prints the token: %s", how, out)
		}
	}
	if cfg.Redacted()["pulsar.auth_token"] != "REDACTED" {
		t.Errorf("Redacted()[pulsar.auth_token] = %q, want REDACTED", cfg.Redacted()["pulsar.auth_token"])
	}
	if cfg.Pulsar.AuthToken.Reveal() != token {
		t.Errorf("Reveal() lost the token")
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := Load([]string{arg}, envOf(nil)); !errors.Is(err, ErrHelp) {
			t.Errorf("Load(%s) = %v, want ErrHelp", arg, err)
		}
	}
	var b bytes.Buffer
	Usage(&b)
	help := b.String()
	for _, s := range Settings() {
		if s.Flag != "" && !strings.Contains(help, "--"+s.Flag+" ") && !strings.Contains(help, "--"+s.Flag+"\n") {
			t.Errorf("help lacks flag --%s", s.Flag)
		}
		if !strings.Contains(help, "yaml "+s.Key+",") || !strings.Contains(help, "env "+s.Env) {
			t.Errorf("help lacks yaml key %s or env %s", s.Key, s.Env)
		}
	}
	for _, want := range []string{"--config FILE", "--kafka-addr string", "--shutdown-drain-timeout duration", "default 10s", "env PULSAR_GATEWAY_KAFKA_ADDR, default :9092"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestEverySettingDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings() {
		if s.Usage == "" {
			t.Errorf("setting %s has no usage text", s.Key)
		}
		seen[s.Key] = true
	}
	for key := range usage {
		if !seen[key] {
			t.Errorf("usage documents %s, which is not a setting", key)
		}
	}
	want := map[string][2]string{ // key -> flag, env
		"data_dir":              {"data-dir", "PULSAR_GATEWAY_DATA_DIR"},
		"pulsar.admin_url":      {"pulsar-admin-url", "PULSAR_GATEWAY_PULSAR_ADMIN_URL"},
		"kafka.addr":            {"kafka-addr", "PULSAR_GATEWAY_KAFKA_ADDR"},
		"kafka.advertised_addr": {"kafka-advertised-addr", "PULSAR_GATEWAY_KAFKA_ADVERTISED_ADDR"},
		"kafka.tls.cert_file":   {"kafka-tls-cert-file", "PULSAR_GATEWAY_KAFKA_TLS_CERT_FILE"},
		"pulsar.auth_token":     {"", "PULSAR_GATEWAY_PULSAR_AUTH_TOKEN"},
	}
	for _, s := range Settings() {
		if w, ok := want[s.Key]; ok && (s.Flag != w[0] || s.Env != w[1]) {
			t.Errorf("%s: flag %q env %q, want %q %q", s.Key, s.Flag, s.Env, w[0], w[1])
		}
	}
}

// selfSigned writes a throwaway certificate and key and returns their paths.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

func TestKafkaTopicDefaults(t *testing.T) {
	file := writeFile(t, "gw.yaml", "kafka:\n  auto_create_topics: false\n  default_partitions: 3\n")
	cfg := mustLoad(t, []string{"--config", file}, nil)
	if cfg.Kafka.AutoCreateTopics || cfg.Kafka.DefaultPartitions != 3 {
		t.Errorf("from the file: auto_create_topics %v default_partitions %d; want false 3", cfg.Kafka.AutoCreateTopics, cfg.Kafka.DefaultPartitions)
	}
	cfg = mustLoad(t, []string{"--config", file, "--kafka-auto-create-topics", "--kafka-default-partitions", "6"}, nil)
	if !cfg.Kafka.AutoCreateTopics || cfg.Kafka.DefaultPartitions != 6 {
		t.Errorf("flags over the file: auto_create_topics %v default_partitions %d; want true 6", cfg.Kafka.AutoCreateTopics, cfg.Kafka.DefaultPartitions)
	}
	cfg = mustLoad(t, nil, map[string]string{"PULSAR_GATEWAY_KAFKA_AUTO_CREATE_TOPICS": "false", "PULSAR_GATEWAY_KAFKA_DEFAULT_PARTITIONS": "2"})
	if cfg.Kafka.AutoCreateTopics || cfg.Kafka.DefaultPartitions != 2 {
		t.Errorf("from env: auto_create_topics %v default_partitions %d; want false 2", cfg.Kafka.AutoCreateTopics, cfg.Kafka.DefaultPartitions)
	}
}

// Logins are all or nothing across the enabled protocols, unless a
// protocol is left open by name.
func TestAuthAllOrNothing(t *testing.T) {
	cfg := mustLoad(t, []string{"--auth-password-file", "/p"}, nil)
	for _, s := range []string{"kafka", "mqtt", "amqp", "schema_registry"} {
		if got := cfg.PasswordFile(s); got != "/p" {
			t.Errorf("%s checks logins against %q, want /p", s, got)
		}
	}
	if got := mustLoad(t, []string{"--auth-password-file", "/p", "--kafka-password-file", "/k"}, nil).PasswordFile("kafka"); got != "/k" {
		t.Errorf("kafka's own file: %q, want /k", got)
	}
	if msg := loadErr(t, []string{"--mqtt-password-file", "/m"}, nil); !strings.Contains(msg, "logins are required on mqtt but kafka, amqp, schema_registry would take anyone") {
		t.Errorf("mqtt alone secured: %s", msg)
	}
	mustLoad(t, []string{"--mqtt-password-file", "/m", "--auth-open", "kafka, amqp,schema_registry"}, nil)
	mustLoad(t, []string{"--mqtt-password-file", "/m", "--kafka-enabled=false", "--amqp-enabled=false", "--schema-registry-enabled=false"}, nil)
	if msg := loadErr(t, []string{"--auth-open", "ftp"}, nil); !strings.Contains(msg, `auth.open: "ftp": not one of kafka, mqtt, amqp, schema_registry`) {
		t.Errorf("an unknown protocol in auth.open: %s", msg)
	}
}
