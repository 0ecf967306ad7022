package kafka_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// TestACLsWithKafkaTools: Apache Kafka's kafka-acls (AclCommand), as the
// super user admin, lets alice read and write orders.eu and consume in
// group g1 and lists the rules; then kcat as alice produces and consumes
// in g1, is refused on payments (Topic authorization failed) and in group
// g2 (Group authorization failed), and bob, with no rules, sees no topic;
// Kafka's Java consumer in g2 gets GroupAuthorizationException. Removing
// alice's rule refuses her at once.
func TestACLsWithKafkaTools(t *testing.T) {
	aclScenario(t, "embedded", "")
}

// TestACLsAcrossGateways is the same with two gateway processes on one
// Pulsar: the rules made through one hold on the other.
func TestACLsAcrossGateways(t *testing.T) {
	if os.Getenv("PULSAR_URL") == "" {
		t.Skip("needs PULSAR_URL and PULSAR_ADMIN_URL: several gateways share a Pulsar")
	}
	aclScenario(t, "pulsar", fmt.Sprintf("-%x", time.Now().UnixNano()))
}

// aclScenario runs kafka-acls through one gateway and the clients through
// another (the same one on the embedded store); names end with suffix.
func aclScenario(t *testing.T, backend, suffix string) {
	cp := kafkaToolsClasspath(t)
	need(t, "kcat", "-V")
	dir := t.TempDir()
	users, rules := filepath.Join(dir, "users"), filepath.Join(dir, "acl.yaml")
	var lines string
	for _, u := range []string{"admin", "alice", "bob"} {
		lines += u + ":" + passwd.Hash(u+"-secret") + "\n"
	}
	if err := os.WriteFile(users, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file may start empty: kafka-acls adds the rules.
	if err := os.WriteFile(rules, []byte("acls: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--auth-password-file", users, "--auth-super-users", "admin", "--auth-acl-file", rules, "--auth-open", "mqtt,amqp"}
	adminAddr := startGateway(t, backend, flags...)
	addr := adminAddr
	if backend == "pulsar" {
		addr = startGateway(t, backend, flags...)
	}
	orders, payments, g1, g2 := "orders.eu"+suffix, "payments"+suffix, "g1"+suffix, "g2"+suffix
	props := func(user string) string {
		p := filepath.Join(dir, user+".properties")
		body := "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule" +
			` required username="` + user + `" password="` + user + "-secret\";\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := props("admin")
	java := func(stdin, class string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
			"-Dlog4j2.level=warn", "-cp", cp, class}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	acls := func(args ...string) string {
		t.Helper()
		out, err := java("", "org.apache.kafka.tools.AclCommand", append([]string{"--bootstrap-server", adminAddr, "--command-config", admin}, args...)...)
		if err != nil {
			t.Fatalf("kafka-acls %v: %v\n%s", args, err, out)
		}
		return out
	}
	for _, topic := range []string{orders, payments} {
		run(t, nil, "kcat", "-b", adminAddr, "-t", topic, "-L", "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN",
			"-X", "sasl.username=admin", "-X", "sasl.password=admin-secret", "-X", "allow.auto.create.topics=true")
	}
	acls("--add", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "Write", "--topic", orders)
	acls("--add", "--allow-principal", "User:alice", "--operation", "Read", "--group", g1)
	list := acls("--list", "--topic", orders)
	if !strings.Contains(list, "User:alice") || !strings.Contains(list, "READ") || !strings.Contains(list, "WRITE") {
		t.Fatalf("kafka-acls --list:\n%s", list)
	}

	kcat := func(user, stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "kcat", append([]string{"-b", addr, "-X", "security.protocol=SASL_PLAINTEXT",
			"-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=" + user, "-X", "sasl.password=" + user + "-secret"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := kcat("alice", "o1\no2\n", "-t", orders, "-P"); err != nil {
		t.Fatalf("alice produces to orders.eu: %v\n%s", err, out)
	}
	if out, err := kcat("alice", "", "-G", g1, "-o", "beginning", "-e", "-q", "-f", "%s\n", orders); err != nil || out != "o1\no2\n" {
		t.Fatalf("alice consumes orders.eu in g1: %v %q", err, out)
	}
	if out, _ := kcat("alice", "p\n", "-t", payments, "-P"); !strings.Contains(out, "Topic authorization failed") {
		t.Fatalf("alice produces to payments:\n%s", out)
	}
	if out, _ := kcat("alice", "", "-G", g2, "-o", "beginning", "-e", orders); !strings.Contains(out, "Group authorization failed") {
		t.Fatalf("alice consumes in g2:\n%s", out)
	}
	if out, err := kcat("bob", "", "-L"); err != nil || strings.Contains(out, orders) || strings.Contains(out, payments) || !strings.Contains(out, "0 topics") {
		t.Fatalf("bob lists topics: %v\n%s", err, out)
	}
	out, _ := java("", "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", addr, "--topic", orders,
		"--group", g2, "--from-beginning", "--timeout-ms", "15000", "--consumer.config", props("alice"))
	if !strings.Contains(out, "GroupAuthorizationException") {
		t.Fatalf("Kafka's consumer in g2:\n%s", out)
	}

	acls("--remove", "--force", "--allow-principal", "User:alice", "--operation", "Write", "--topic", orders)
	if out, _ := kcat("alice", "o3\n", "-t", orders, "-P"); !strings.Contains(out, "Topic authorization failed") {
		t.Fatalf("alice produces after her WRITE was removed:\n%s", out)
	}
}
