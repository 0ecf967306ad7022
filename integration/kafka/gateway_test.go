// Package kafka_test runs real Kafka clients (kcat, confluent-kafka and
// kafka-python from Debian: apt-get install kcat python3-confluent-kafka
// python3-kafka) against the built gateway binary on the embedded backend.
// A scenario whose client is not installed fails (scripts/test.sh installs them).
package kafka_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// backends are the stores each scenario runs on: the embedded one always,
// Pulsar when PULSAR_URL and PULSAR_ADMIN_URL name a broker (scripts/test.sh
// starts one).
func backends() []string {
	if os.Getenv("PULSAR_URL") != "" && os.Getenv("PULSAR_ADMIN_URL") != "" {
		return []string{"embedded", "pulsar"}
	}
	return []string{"embedded"}
}

// eachBackend runs a scenario once per backend, with a name suffix that
// keeps topics and groups apart on a broker that outlives the test.
func eachBackend(t *testing.T, scenario func(t *testing.T, addr, suffix string)) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			addr := startGateway(t, backend)
			scenario(t, addr, fmt.Sprintf("-%x", time.Now().UnixNano()))
		})
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// gatewayBinary builds the gateway once per test binary.
func gatewayBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kafka-integration")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pulsar-gateway")
		if out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/pulsar-gateway").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// startGateway starts the gateway with only Kafka on a free port, on the
// named backend, with extra flags, and returns the address it listens on.
func startGateway(t *testing.T, backend string, extra ...string) string {
	t.Helper()
	return startGatewayServing(t, backend, []string{"kafka"}, extra...)["kafka"]
}

// startGatewayServing is startGateway that also serves the other named
// protocols (mqtt, amqp) on free ports, and returns each one's address.
func startGatewayServing(t *testing.T, backend string, protocols []string, extra ...string) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := gatewayBinary(t)
	args := []string{"--kafka-addr", "127.0.0.1:0", "--mqtt-enabled=false", "--amqp-enabled=false",
		"--http-enabled=false", "--schema-registry-enabled=false", "--log-format", "json", "--backend", backend}
	for _, p := range protocols {
		if p != "kafka" {
			f := strings.ReplaceAll(p, "_", "-")
			args = append(args, "--"+f+"-enabled=true", "--"+f+"-addr", "127.0.0.1:0")
		}
	}
	if backend == "pulsar" {
		args = append(args, "--pulsar-url", os.Getenv("PULSAR_URL"), "--pulsar-admin-url", os.Getenv("PULSAR_ADMIN_URL"))
	} else {
		args = append(args, "--data-dir", filepath.Join(t.TempDir(), "data"))
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	type listening struct{ protocol, addr string }
	addr := make(chan listening, len(protocols))
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Protocol, Addr, Level string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && slices.Contains(protocols, line.Protocol) {
				addr <- listening{line.Protocol, line.Addr}
			}
			if line.Level != "info" && line.Level != "debug" {
				t.Logf("gateway: %s", sc.Bytes())
			}
		}
	}()
	addrs := map[string]string{}
	for len(addrs) < len(protocols) {
		select {
		case l := <-addr:
			addrs[l.protocol] = l.addr
		case <-time.After(60 * time.Second):
			t.Fatalf("gateway did not report its %v addresses (got %v)", protocols, addrs)
		}
	}
	return addrs
}

// run runs a client command with a deadline and returns its stdout.
func run(t *testing.T, stdin io.Reader, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stderr = &limitedBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, out, stderr.String())
	}
	return string(out)
}

// need fails the test unless the command runs: a missing client fails, never skips
// (scripts/test.sh installs them).
func need(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := exec.Command(name, args...).Run(); err != nil {
		t.Fatalf("%s %v: %v (scripts/test.sh installs the clients)", name, args, err)
	}
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(l.b) < 64<<10 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
