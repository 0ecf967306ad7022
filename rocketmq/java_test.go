package rocketmq

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// javaClasspath compiles testdata/java/*.java against RocketMQ's Java client
// 5.1.4 (remoting/testdata/java/pom.xml; scripts/test.sh fetches it into ~/.m2).
func javaClasspath(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s: scripts/test.sh installs a JDK and maven", tool)
		}
	}
	dir := t.TempDir()
	cpFile := filepath.Join(dir, "classpath")
	if out, err := exec.Command("mvn", "-B", "-q", "-o", "-f", "remoting/testdata/java/pom.xml", "dependency:build-classpath",
		"-Dmdep.outputFile="+cpFile).CombinedOutput(); err != nil {
		out2, err2 := exec.Command("mvn", "-B", "-q", "-f", "remoting/testdata/java/pom.xml", "dependency:build-classpath",
			"-Dmdep.outputFile="+cpFile).CombinedOutput()
		if err2 != nil {
			t.Fatalf("resolving rocketmq-client 5.1.4: %v\n%s\n%s", err, out, out2)
		}
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	classes := filepath.Join(dir, "classes")
	if out, err := exec.Command("javac", "-cp", string(cp), "-d", classes, "testdata/java/SendConsume.java", "testdata/java/Orderly.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	return string(cp) + string(os.PathListSeparator) + classes
}

// TestJavaClientSendAndConsume: RocketMQ's Java client 5.1.4 (SEND_MESSAGE_V2, a batch, its
// push consumer with FLAG_COMMIT_OFFSET pulls and its own heartbeat JSON), in both header
// serializations, sends through the gateway and its TagA subscriber gets exactly the TagA
// messages with keys, user properties and bodies.
func TestJavaClientSendAndConsume(t *testing.T) {
	cp := javaClasspath(t)
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		for _, ser := range []string{"JSON", "ROCKETMQ"} {
			t.Run(ser, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, "java", "-Duser.home="+t.TempDir(), "-Drocketmq.serialize.type="+ser,
					"-cp", cp, "SendConsume", addr, unique("java"), unique("jg"))
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("java client: %v\n%s", err, out)
				}
				want := "got TagA key-0 0 body-0\ngot TagA key-2 2 body-2\ngot TagA key-3 3 body-3\ngot TagA key-4 4 body-4\ndone\n"
				if string(out) != want {
					t.Fatalf("java client printed\n%s\nwant\n%s", out, want)
				}
			})
		}
	})
}

// TestJavaClientOrderly: ordered messages (one queue chosen by the producer's selector) reach
// the Java client's orderly push consumer, which consumes only queues it locked
// (LOCK_BATCH_MQ), in the order sent. (rocketmq-client-go's orderly consumer races inside
// itself under -race, so the Java one is the client here.)
func TestJavaClientOrderly(t *testing.T) {
	cp := javaClasspath(t)
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "java", "-Duser.home="+t.TempDir(), "-cp", cp, "Orderly", addr, unique("ordered"), unique("og")).Output()
		if err != nil {
			t.Fatalf("java client: %v\n%s", err, out)
		}
		var want strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&want, "1 %d\n", i)
		}
		want.WriteString("done\n")
		if string(out) != want.String() {
			t.Fatalf("java client printed\n%s\nwant\n%s", out, want.String())
		}
	})
}
