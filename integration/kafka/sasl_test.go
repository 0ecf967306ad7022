package kafka_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// TestSASLPlain runs every real client with a SASL/PLAIN login against a
// gateway started with a Mosquitto-format password file, and checks that a
// wrong password is refused. Embedded backend only: the login does not
// touch the store.
func TestSASLPlain(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(pwFile, []byte("alice:"+passwd.Hash("alice-secret")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startGateway(t, "embedded", "--kafka-password-file", pwFile)
	suffix := "-sasl"
	login := []string{"KAFKA_SASL_USER=alice", "KAFKA_SASL_PASSWORD=alice-secret"}
	kcatLogin := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}

	t.Run("kcat", func(t *testing.T) {
		need(t, "kcat", "-V")
		args := append([]string{"-b", addr, "-t", "sasl-kcat", "-P"}, kcatLogin...)
		run(t, strings.NewReader("one\ntwo\n"), "kcat", args...)
		args = append([]string{"-b", addr, "-t", "sasl-kcat", "-C", "-e", "-o", "beginning"}, kcatLogin...)
		if out := run(t, nil, "kcat", args...); out != "one\ntwo\n" {
			t.Fatalf("consumed %q", out)
		}
		// A wrong password: kcat gives up with an authentication error.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bad := exec.CommandContext(ctx, "kcat", "-b", addr, "-L", "-m", "5", "-X", "security.protocol=SASL_PLAINTEXT",
			"-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice", "-X", "sasl.password=wrong")
		out, err := bad.CombinedOutput()
		if err == nil || !strings.Contains(strings.ToLower(string(out)), "authentication") {
			t.Fatalf("wrong password: err %v, output:\n%s", err, out)
		}
	})
	t.Run("confluent-kafka", func(t *testing.T) {
		need(t, python, "-c", "import confluent_kafka")
		run(t, nil, "env", append(login, python, "testdata/confluent_roundtrip.py", addr, "sasl-ck"+suffix, "sasl-ckg"+suffix)...)
	})
	t.Run("kafka-python", func(t *testing.T) {
		need(t, python, "-c", "import kafka")
		run(t, nil, "env", append(login, python, "testdata/kafka_python_roundtrip.py", addr, "sasl-kp"+suffix, "sasl-kpg"+suffix)...)
	})
	t.Run("java", func(t *testing.T) {
		if _, err := exec.LookPath("java"); err != nil {
			t.Fatal("no java: install a JDK (scripts/test.sh installs openjdk-17-jdk-headless)")
		}
		cp, ok := javaClasspath()
		if !ok {
			t.Fatal("kafka-clients 4.x and its dependencies are not in ~/.m2 (scripts/test.sh fetches them)")
		}
		run(t, nil, "env", append(login, "java", "-cp", cp, "testdata/JavaRoundtrip.java", addr, "sasl-java"+suffix, "lz4", "sasl-javag"+suffix)...)
	})
}
