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

// TestSCRAMWithKafkaTools: Apache Kafka's kafka-configs (ConfigCommand)
// adds alice's SCRAM credentials as the super user admin (a PLAIN login
// from the password file) and lists them; then kcat logs in as alice with
// SCRAM-SHA-256 and -512 and Kafka's Java console producer with
// SCRAM-SHA-512, and a wrong password is refused.
func TestSCRAMWithKafkaTools(t *testing.T) {
	cp := kafkaToolsClasspath(t)
	need(t, "kcat", "-V")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "users")
	if err := os.WriteFile(pwFile, []byte("admin:"+passwd.Hash("admin-secret")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startGateway(t, "embedded", "--kafka-password-file", pwFile, "--auth-super-users", "admin")
	props := func(name, mech, module, user, pass string) string {
		p := filepath.Join(dir, name)
		body := "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=" + mech + "\nsasl.jaas.config=" + module +
			` required username="` + user + `" password="` + pass + "\";\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := props("admin.properties", "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule", "admin", "admin-secret")
	java := func(stdin, class string, args ...string) string {
		t.Helper()
		return run(t, strings.NewReader(stdin), "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
			"-Dlog4j2.level=warn", "-cp", cp, class}, args...)...)
	}
	java("", "kafka.admin.ConfigCommand", "--bootstrap-server", addr, "--command-config", admin,
		"--alter", "--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]",
		"--entity-type", "users", "--entity-name", "alice")
	out := java("", "kafka.admin.ConfigCommand", "--bootstrap-server", addr, "--command-config", admin,
		"--describe", "--entity-type", "users", "--entity-name", "alice")
	if !strings.Contains(out, "SCRAM-SHA-256=iterations=8192") || !strings.Contains(out, "SCRAM-SHA-512=iterations=4096") {
		t.Fatalf("kafka-configs --describe:\n%s", out)
	}

	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
		login := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=" + mech,
			"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}
		topic := "scram-" + strings.ToLower(mech)
		run(t, strings.NewReader("one\ntwo\n"), "kcat", append([]string{"-b", addr, "-t", topic, "-P"}, login...)...)
		if out := run(t, nil, "kcat", append([]string{"-b", addr, "-t", topic, "-C", "-e", "-o", "beginning"}, login...)...); out != "one\ntwo\n" {
			t.Fatalf("kcat %s consumed %q", mech, out)
		}
	}
	alice := props("alice.properties", "SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule", "alice", "alice-secret")
	java("three\n", "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", addr, "--topic", "scram-java",
		"--producer.config", alice)
	if out := run(t, nil, "kcat", "-b", addr, "-t", "scram-java", "-C", "-e", "-o", "beginning", "-X", "security.protocol=SASL_PLAINTEXT",
		"-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"); out != "three\n" {
		t.Fatalf("what the Java producer sent with SCRAM-SHA-512: %q", out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := exec.CommandContext(ctx, "kcat", "-b", addr, "-L", "-m", "5", "-X", "security.protocol=SASL_PLAINTEXT",
		"-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=alice", "-X", "sasl.password=wrong")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "authentication") {
		t.Fatalf("wrong password: err %v, output:\n%s", err, out)
	}
}
