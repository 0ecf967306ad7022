package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// logBuffer collects what the gateway writes to stderr; safe to read while
// the gateway writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLine is one JSON log line, its fields by name.
type logLine map[string]any

func (l logLine) str(key string) string { s, _ := l[key].(string); return s }

// parseLogs reads JSON log lines; a line that is not JSON fails the test.
func parseLogs(t *testing.T, r io.Reader) []logLine {
	t.Helper()
	var lines []logLine
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines
}

// listeningAddrs waits until the log shows want "listening" lines and
// returns their addresses by protocol.
func listeningAddrs(t *testing.T, logs func() string, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		addrs := map[string]string{}
		for _, l := range parseLogs(t, strings.NewReader(logs())) {
			if l.str("msg") == "listening" {
				addrs[l.str("protocol")] = l.str("addr")
			}
		}
		if len(addrs) >= want {
			return addrs
		}
		if time.Now().After(deadline) {
			t.Fatalf("saw %d listening lines, want %d; log:\n%s", len(addrs), want, logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// portZeroArgs puts every listener on a free loopback port and the data in
// a temp dir.
func portZeroArgs(t *testing.T) []string {
	t.Helper()
	return []string{
		"--data-dir", t.TempDir(),
		"--kafka-addr", "127.0.0.1:0",
		"--mqtt-addr", "127.0.0.1:0",
		"--amqp-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--schema-registry-addr", "127.0.0.1:0",
	}
}

func noEnv(string) string { return "" }

// servedByDefault is the protocols a gateway with default settings serves:
// all but RocketMQ, off unless enabled (9876 is the real name server's port).
func servedByDefault() []string {
	var on []string
	for _, p := range protocols {
		if p != "rocketmq" {
			on = append(on, p)
		}
	}
	return on
}

// httpGet returns the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// expectServerCloses dials addr, sends bytes that are bad input in every
// protocol served (a negative Kafka frame size, a malformed MQTT packet, a
// wrong AMQP protocol header), and fails unless the gateway closes the
// connection: the listener is up and a bad client is shown the door.
func expectServerCloses(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("\xff\xff\xff\xff\xff\xff\xff\xff")) // may fail if already closed
	buf := make([]byte, 64)
	for {
		// An AMQP server answers a bad header with its own before closing.
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s kept the connection open after bad input", addr)
		}
		return
	}
}

// expectRefused fails unless nothing listens on addr any more.
func expectRefused(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

// mosquittoPasswd runs Mosquitto's own mosquitto_passwd with args (a real
// tool writes the test's password files), failing the test on an error.
func mosquittoPasswd(t *testing.T, args ...string) {
	t.Helper()
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd not installed: apt-get install mosquitto (scripts/test.sh does)")
	}
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd %v: %v %s", args, err, out)
	}
}

// passwordFile is a new password file with one user, as mosquitto_passwd
// writes it.
func passwordFile(t *testing.T, user, password string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "passwd")
	mosquittoPasswd(t, "-b", "-c", pw, user, password)
	return pw
}

// kafkaAs is a Kafka client logged in as user with SASL/PLAIN, retrying
// little: a refusal is the answer under test.
func kafkaAs(t *testing.T, addr, user, pass string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append(opts, kgo.SeedBrokers(addr), kgo.RequestRetries(2), kgo.RecordRetries(2),
		kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// amqpChannel is a channel of an AMQP connection logged in as user.
func amqpChannel(t *testing.T, addr, user, pass string) *amqp091.Channel {
	t.Helper()
	c, err := amqp091.Dial("amqp://" + user + ":" + pass + "@" + addr + "/")
	if err != nil {
		t.Fatalf("AMQP as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// goTool is the go command, for the tests that build the binary.
func goTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("no go tool on PATH")
	}
	return goBin
}
