// Package streams_test runs the real Kafka Streams and Kafka Connect programs
// (Kafka 4.0 jars from Maven Central, resolved by jars.sh; scripts/test.sh runs
// it) and Kafka's transactional Java producer against a Kafka bootstrap, and
// checks what their users rely on: exactly-once word counts across a crash,
// Connect's config, offsets and status across a crash, and that aborted
// records stay invisible to read_committed consumers.
//
// Targets:
//   - KAFKA_BOOTSTRAP=host:port: a real Kafka (integration/kafka/kraft.sh start), the
//     reference that proves the harness;
//   - always: the gateway binary on the embedded backend and, when PULSAR_URL and
//     PULSAR_ADMIN_URL are set, on Pulsar (PGW_STREAMS_GATEWAY=0 leaves the gateway
//     out, to run the reference alone).
package streams_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// target is a Kafka endpoint a scenario runs against.
type target struct {
	name    string
	backend string // "" for real Kafka, else the gateway backend to start
	addr    string
}

func targets() []target {
	var ts []target
	if b := os.Getenv("KAFKA_BOOTSTRAP"); b != "" {
		ts = append(ts, target{name: "kafka", addr: b})
	}
	if os.Getenv("PGW_STREAMS_GATEWAY") != "0" {
		ts = append(ts, target{name: "gateway-embedded", backend: "embedded"})
		if os.Getenv("PULSAR_URL") != "" && os.Getenv("PULSAR_ADMIN_URL") != "" {
			ts = append(ts, target{name: "gateway-pulsar", backend: "pulsar"})
		}
	}
	return ts
}

// eachTarget runs a scenario once per target, starting a gateway for the
// gateway targets, with a suffix that keeps topics, groups and transactional
// ids apart on a broker that outlives the test. failover is where the
// scenario's restarted program goes: on Pulsar a second gateway process on
// the same broker (the program fails over, as behind a load balancer or
// to the sidecar of its new pod); elsewhere the same bootstrap.
func eachTarget(t *testing.T, scenario func(t *testing.T, bootstrap, failover, suffix string)) {
	ts := targets()
	if len(ts) == 0 {
		t.Skip("no target: PGW_STREAMS_GATEWAY=0 and no KAFKA_BOOTSTRAP")
	}
	if testing.Short() {
		t.Skip("runs JVMs for a minute or more")
	}
	for _, tg := range ts {
		t.Run(tg.name, func(t *testing.T) {
			addr := tg.addr
			if tg.backend != "" {
				addr = startGateway(t, tg.backend)
			}
			failover := addr
			if tg.backend == "pulsar" {
				failover = startGateway(t, tg.backend)
			}
			scenario(t, addr, failover, fmt.Sprintf("-%x", time.Now().UnixNano()))
		})
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if classDir != "" {
		os.RemoveAll(classDir)
	}
	os.Exit(code)
}

// startGateway builds the gateway once and starts it with only Kafka on a
// free port, as integration/kafka does, and returns its address.
func startGateway(t *testing.T, backend string) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "streams-integration")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pulsar-gateway")
		if out, err := exec.Command("go", "build", "-o", binPath, "../../../cmd/pulsar-gateway").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	args := []string{"--kafka-addr", "127.0.0.1:0", "--mqtt-enabled=false", "--amqp-enabled=false",
		"--http-enabled=false", "--schema-registry-enabled=false", "--log-format", "json", "--backend", backend}
	if backend == "pulsar" {
		args = append(args, "--pulsar-url", os.Getenv("PULSAR_URL"), "--pulsar-admin-url", os.Getenv("PULSAR_ADMIN_URL"))
	} else {
		args = append(args, "--data-dir", filepath.Join(t.TempDir(), "data"))
	}
	cmd := exec.Command(binPath, args...)
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
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Protocol, Addr, Level string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" && line.Protocol == "kafka" {
				addr <- line.Addr
			}
			// What the gateway refuses or fails shows next to the client's error.
			if line.Level != "info" && line.Level != "debug" {
				t.Logf("gateway: %s", sc.Bytes())
			}
		}
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("gateway did not report its Kafka address")
		return ""
	}
}

// jarsDir is where jars.sh puts the Streams and Connect jars.
func jarsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("STREAMS_JARS")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "pulsar-gateway", "kafka-streams-4.0.0", "lib")
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		t.Fatalf("no Kafka Streams/Connect jars in %s: run integration/kafka/streams/jars.sh (scripts/test.sh does)", dir)
	}
	return dir
}

var (
	compileOnce sync.Once
	classDir    string
	compileErr  error
)

// javaClasspath compiles the test's Java programs (testdata/*.java) once
// against the jars and returns the classpath that runs them.
func javaClasspath(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("javac"); err != nil {
		t.Fatal("no javac: install a JDK (scripts/test.sh installs openjdk-17-jdk-headless)")
	}
	jars := filepath.Join(jarsDir(t), "*")
	compileOnce.Do(func() {
		classDir, compileErr = os.MkdirTemp("", "streams-classes")
		if compileErr != nil {
			return
		}
		srcs, _ := filepath.Glob("testdata/*.java")
		args := append([]string{"-nowarn", "-cp", jars, "-d", classDir}, srcs...)
		if out, err := exec.Command("javac", args...).CombinedOutput(); err != nil {
			compileErr = fmt.Errorf("javac: %v\n%s", err, out)
		}
	})
	if compileErr != nil {
		t.Fatal(compileErr)
	}
	return classDir + string(os.PathListSeparator) + jars
}

// javaProc is one JVM the test runs, with its output in a file.
type javaProc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
	// fatal, when set, matches output after which the program is as good
	// as dead (it may take a minute to exit): waits end at once.
	fatal *regexp.Regexp
}

// startJava runs class with args in a JVM of its own (small heap: the
// machine is shared), output to a file; the test's cleanup kills it.
func startJava(t *testing.T, name, class string, args ...string) *javaProc {
	t.Helper()
	cp := javaClasspath(t)
	logFile := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	jvm := []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
		"-Dlog4j2.configurationFile=" + absPath(t, "testdata/log4j2.xml"), "-cp", cp, class}
	cmd := exec.Command("java", append(jvm, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &javaProc{t: t, name: name, cmd: cmd, log: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s: %s", name, p.tail(60))
		}
	})
	return p
}

// kill sends SIGKILL, as a crash would, and waits for the JVM to be gone.
func (p *javaProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func (p *javaProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *javaProc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

var (
	errorLine = regexp.MustCompile(`(?m)^.*(ERROR|FATAL|Exception|Error:).*$`)
	logLine   = regexp.MustCompile(`(?m)^(\d\d:\d\d:\d\d|STATE |STEP |FATAL |OK$)`)
	causeLine = regexp.MustCompile(`(?m)^Caused by: .*$`)
	fatalLine = regexp.MustCompile(`(?m)^FATAL .*$`)
)

// firstError is the FATAL line of a test program, else the first line of
// the JVM's output that reports an error,
// the exception logged with it and its first "Caused by" (Java wraps the
// broker's answer): how a scenario fails on a target that lacks something.
func (p *javaProc) firstError() string {
	out := p.output()
	// Our own programs say on one line what they died of.
	if m := fatalLine.FindString(out); m != "" {
		return m
	}
	loc := errorLine.FindStringIndex(out)
	if loc == nil {
		return "(no error line in the output)"
	}
	// The error's block runs to the next log line.
	block := out[loc[0]:]
	if next := logLine.FindStringIndex(block[loc[1]-loc[0]:]); next != nil {
		block = block[:loc[1]-loc[0]+next[0]]
	}
	lines := strings.Split(strings.TrimSpace(block), "\n")
	msg := clip(lines[0])
	if len(lines) > 1 && !strings.HasPrefix(lines[1], "\t") && !strings.HasPrefix(lines[1], "Caused by") {
		msg += " | " + clip(lines[1])
	}
	if c := causeLine.FindString(block); c != "" {
		msg += " | " + clip(c)
	}
	return msg
}

func clip(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

func (p *javaProc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n" + strings.Join(lines, "\n")
}

// failJava ends the test with what the JVM reported first.
func (p *javaProc) failf(format string, args ...any) {
	p.t.Helper()
	state := "running"
	if p.exited() {
		state = fmt.Sprintf("exited (%v)", p.err)
	}
	p.t.Fatalf("%s; %s %s, first error: %s", fmt.Sprintf(format, args...), p.name, state, p.firstError())
}

// waitFor polls cond every 200 ms until it holds or timeout passes; the JVM
// exiting ends the wait early.
func waitFor(t *testing.T, p *javaProc, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if p != nil && (p.exited() || p.fatal != nil && p.fatal.MatchString(p.output())) {
			p.failf("waiting for %s", what)
		}
		if time.Now().After(deadline) {
			if p != nil {
				p.failf("no %s after %v", what, timeout)
			}
			t.Fatalf("no %s after %v", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func absPath(t *testing.T, rel string) string {
	a, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newClient(t *testing.T, bootstrap string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, bootstrap, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(newClient(t, bootstrap)).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// endOffsets are the high watermarks of topic's partitions.
func endOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out
}

// groupCaughtUp reports whether group has committed topic's end offsets on
// every partition.
func groupCaughtUp(t *testing.T, adm *kadm.Client, group, topic string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Logf("fetch offsets of %s: %v", group, err)
		return false
	}
	for p, end := range endOffsets(t, adm, topic) {
		o, ok := committed.Lookup(topic, p)
		if !ok || o.Err != nil || o.At < end {
			return false
		}
	}
	return true
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
