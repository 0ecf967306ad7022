package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// startRun runs the gateway in-process until the test cancels it; the
// returned function cancels and waits for the exit code.
func startRun(t *testing.T, args []string) (logs *logBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &logBuffer{}
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, noEnv, &bytes.Buffer{}, logs) }()
	var stopped bool
	var exit int
	stop = func() int {
		if stopped {
			return exit
		}
		stopped = true
		cancel()
		select {
		case exit = <-code:
		case <-time.After(30 * time.Second):
			t.Fatalf("run did not return after cancel; log:\n%s", logs)
		}
		return exit
	}
	t.Cleanup(func() { stop() })
	return logs, stop
}

func TestRunServesEveryListenerAndStopsCleanly(t *testing.T) {
	logs, stop := startRun(t, portZeroArgs(t))
	addrs := listeningAddrs(t, logs.String, 5)

	for _, p := range servedByDefault() {
		expectServerCloses(t, addrs[p])
	}
	web := "http://" + addrs["http"]
	if code, body := httpGet(t, web+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d %q, want 200", code, body)
	}
	if code, body := httpGet(t, web+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	wants := []string{
		`pulsar_gateway_connections_total{protocol="kafka"} 1`,
		`pulsar_gateway_connections_total{protocol="mqtt"} 1`,
		`pulsar_gateway_connections_active{protocol="amqp"} 0`,
		`pulsar_gateway_panics_total{protocol="kafka"} 0`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	}
	// The client sees its connection closed a moment before the gateway
	// counts it gone (seen in CI: active amqp still 1), so ask again a
	// little while.
	var metrics string
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, metrics = httpGet(t, web+"/metrics")
		if !slices.ContainsFunc(wants, func(w string) bool { return !strings.Contains(metrics, w) }) || time.Now().After(end) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if code := stop(); code != 0 {
		t.Fatalf("exit code %d, want 0; log:\n%s", code, logs)
	}
	for _, addr := range addrs {
		expectRefused(t, addr)
	}

	// At info level the log is quiet: start, listeners, shutdown. The bad
	// input above may be reported as warnings, never as errors.
	var info []string
	for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
		switch l.str("level") {
		case "info":
			info = append(info, l.str("msg"))
		case "warn":
		default:
			t.Errorf("unexpected log line %v", l)
		}
	}
	want := "starting listening listening listening listening listening shutting down stopped"
	if got := strings.Join(info, " "); got != want {
		t.Errorf("info lines: %s\nwant: %s", got, want)
	}
}

func TestRunKafkaAdvertisesBoundPort(t *testing.T) {
	logs, _ := startRun(t, portZeroArgs(t))
	listeningAddrs(t, logs.String, 5)
	for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
		if l.str("msg") == "listening" && l.str("protocol") == "kafka" {
			if l.str("advertised") != l.str("addr") {
				t.Errorf("kafka advertised %q, want the bound %q", l.str("advertised"), l.str("addr"))
			}
			return
		}
	}
	t.Fatal("no kafka listening line")
}

func TestRunDisabledListenerStaysClosed(t *testing.T) {
	logs, _ := startRun(t, append(portZeroArgs(t), "--mqtt-enabled=false", "--http-enabled=false", "--schema-registry-enabled=false"))
	addrs := listeningAddrs(t, logs.String, 2)
	time.Sleep(50 * time.Millisecond) // let any further listening line land
	addrs = listeningAddrs(t, logs.String, 2)
	if len(addrs) != 2 || addrs["kafka"] == "" || addrs["amqp"] == "" {
		t.Errorf("listening on %v, want kafka and amqp only", addrs)
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, noEnv, &stdout, &stderr); code != 0 {
		t.Fatalf("--help exit code %d, want 0", code)
	}
	for _, want := range []string{"--kafka-addr", "yaml kafka.addr", "env PULSAR_GATEWAY_KAFKA_ADDR", "--config FILE"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("--help wrote to stderr: %q", stderr.String())
	}
}

// TestRunFailsWithOneLine covers every way start-up can fail: one line on
// stderr, naming the cause, and the right exit code.
func TestRunFailsWithOneLine(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string // the whole line for config errors, a part otherwise
	}{
		{"bad address", []string{"--kafka-addr", "foo"}, nil, 2,
			`pulsar-gateway: config: kafka.addr: "foo": missing port in address` + "\n"},
		{"bad env", nil, map[string]string{"PULSAR_GATEWAY_LOG_LEVEL": "chatty"}, 2,
			`pulsar-gateway: config: log.level: "chatty": must be debug, info, warn or error` + "\n"},
		{"unknown flag", []string{"--kafak-addr", ":1"}, nil, 2,
			"pulsar-gateway: config: flag provided but not defined: -kafak-addr\n"},
		{"data dir not writable", append(portZeroArgs(t), "--data-dir", filepath.Join(notADir, "data")), nil, 1,
			`data directory "` + filepath.Join(notADir, "data") + `"`},
		{"pulsar broker unreachable", append(portZeroArgs(t), "--backend", "pulsar",
			"--pulsar-url", "pulsar://"+busy.Addr().String(), "--pulsar-admin-url", "http://127.0.0.1:1"), nil, 1,
			"pulsar-gateway: backend pulsar at pulsar://" + busy.Addr().String() + ": bridge: backend unavailable"},
		{"logins on one protocol only", []string{"--amqp-password-file", "/etc/passwd-gw"}, nil, 2,
			"pulsar-gateway: config: auth: logins are required on amqp but kafka, mqtt, schema_registry would take anyone: " +
				"set auth.password_file (one store for every protocol), or name kafka, mqtt, schema_registry in auth.open to leave it open on purpose\n"},
		{"port in use", append(portZeroArgs(t), "--mqtt-addr", busy.Addr().String()), nil, 1,
			`pulsar-gateway: mqtt.addr "` + busy.Addr().String() + `": listen tcp ` + busy.Addr().String() + `: bind: address already in use`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := func(k string) string { return c.env[k] }
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), c.args, env, &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit code %d, want %d", code, c.code)
			}
			plain := plainLines(stderr.String())
			if len(plain) != 1 || !strings.HasPrefix(plain[0], "pulsar-gateway: ") || !strings.Contains(plain[0], c.want) {
				t.Errorf("stderr:\n%s\nwant one line containing %q", stderr.String(), c.want)
			}
			if c.code == 2 && stderr.String() != c.want {
				t.Errorf("config error: stderr = %q, want exactly %q", stderr.String(), c.want)
			}
		})
	}
}

func TestRunReleasesDataDirOnPortConflict(t *testing.T) {
	// A failed start must close the store: the next start opens it.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	args := portZeroArgs(t)
	var stderr bytes.Buffer
	if code := run(context.Background(), append(args, "--amqp-addr", busy.Addr().String()), noEnv, &bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("exit code %d, want 1; stderr:\n%s", code, &stderr)
	}
	logs, stop := startRun(t, args)
	listeningAddrs(t, logs.String, 5)
	if code := stop(); code != 0 {
		t.Fatalf("second start: exit code %d; log:\n%s", code, logs)
	}
}

// TestRunOnPulsarBackend starts the gateway in front of the real broker
// that scripts/test.sh runs, and stops it cleanly.
func TestRunOnPulsarBackend(t *testing.T) {
	url, admin := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
	if url == "" || admin == "" {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
	}
	logs, stop := startRun(t, append(portZeroArgs(t), "--backend", "pulsar", "--pulsar-url", url, "--pulsar-admin-url", admin))
	addrs := listeningAddrs(t, logs.String, 5)
	if code, body := httpGet(t, "http://"+addrs["http"]+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d, want 0; log:\n%s", code, logs)
	}
}

// TestRunOnSecurePulsar: in front of the secure broker (standalone.sh
// --secure; scripts/test.sh exports it as PULSAR_SECURE_*) with a CA file
// and a token file the gateway starts, is ready, and never logs the token;
// a wrong token, none, or a CA that did not sign the broker's certificate
// each stop the start at once with one line that says which.
func TestRunOnSecurePulsar(t *testing.T) {
	url, admin := os.Getenv("PULSAR_SECURE_URL"), os.Getenv("PULSAR_SECURE_ADMIN_URL")
	ca, tokenFile := os.Getenv("PULSAR_SECURE_TLS_CA"), os.Getenv("PULSAR_SECURE_TOKEN_FILE")
	if url == "" || admin == "" || ca == "" || tokenFile == "" {
		t.Skip("PULSAR_SECURE_URL / _ADMIN_URL / _TLS_CA / _TOKEN_FILE unset: run `integration/pulsar/standalone.sh start --secure` and export what it prints with the PULSAR_SECURE_ prefix")
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	secure := func(more ...string) []string {
		return append(append(portZeroArgs(t), "--backend", "pulsar", "--pulsar-url", url, "--pulsar-admin-url", admin), more...)
	}
	logs, stop := startRun(t, secure("--pulsar-tls-ca-file", ca, "--pulsar-auth-token-file", tokenFile, "--log-level", "debug"))
	addrs := listeningAddrs(t, logs.String, 5)
	if code, body := httpGet(t, "http://"+addrs["http"]+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d, want 0; log:\n%s", code, logs)
	}
	if strings.Contains(logs.String(), strings.TrimSpace(string(token))) {
		t.Error("the log holds the Pulsar token")
	}

	wrong := filepath.Join(t.TempDir(), "wrong.jwt")
	if err := os.WriteFile(wrong, []byte("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong token", secure("--pulsar-tls-ca-file", ca, "--pulsar-auth-token-file", wrong), "the broker refused the gateway's login"},
		{"no token", secure("--pulsar-tls-ca-file", ca), "the broker refused the gateway's login"},
		// The client certificate is no CA of the broker's certificate.
		{"untrusted CA", secure("--pulsar-tls-ca-file", os.Getenv("PULSAR_SECURE_TLS_CLIENT_CERT"), "--pulsar-auth-token-file", tokenFile),
			"the broker's TLS certificate does not verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			start := time.Now()
			code := run(context.Background(), c.args, noEnv, &bytes.Buffer{}, &stderr)
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("start-up took %v to fail: want a prompt error, not a hang", took)
			}
			plain := plainLines(stderr.String())
			if code != 1 || len(plain) != 1 || !strings.Contains(plain[0], "pulsar-gateway: backend pulsar at "+url+": "+"bridge/pulsar: "+c.want) {
				t.Errorf("exit code %d, stderr:\n%s\nwant 1 and one line containing %q", code, stderr.String(), c.want)
			}
		})
	}
}

// plainLines are the stderr lines that are not JSON logs.
func plainLines(stderr string) []string {
	var plain []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if line != "" && !strings.HasPrefix(line, "{") {
			plain = append(plain, line)
		}
	}
	return plain
}
