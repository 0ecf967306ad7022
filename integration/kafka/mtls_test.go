package kafka_test

import (
	"context"
	"crypto/x509/pkix"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/tlsident/certtest"
)

// TestClientCertificatesStockClients: Kafka's Java console producer (PEM
// keystore and truststore, KIP-651) and kcat log in with client
// certificates to a gateway whose Kafka listener requires them
// (--kafka-tls-client-ca-file); the subject is mapped by Kafka's rules, so
// alice, a super user by her certificate, may list SCRAM users with
// kafka-configs and bob may not; a client without a certificate gets no
// TLS session.
func TestClientCertificatesStockClients(t *testing.T) {
	need(t, "kcat", "-V")
	cp := kafkaToolsClasspath(t)
	ca := certtest.NewCA(t)
	ca.Server(t, "server")
	ca.Client(t, "alice", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}})
	ca.Client(t, "bob", pkix.Name{CommonName: "bob", OrganizationalUnit: []string{"apps"}})
	addr := startGateway(t, "embedded", "--kafka-tls-cert-file", ca.Path("server.pem"), "--kafka-tls-key-file", ca.Path("server-key.pem"),
		"--kafka-tls-client-ca-file", ca.Path("ca.pem"), "--kafka-ssl-principal-mapping-rules", `RULE:^CN=([^,]*),OU=apps.*$/$1/,DEFAULT`,
		"--auth-super-users", "alice")

	kcat := func(who string) []string {
		return []string{"-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + ca.Path("ca.pem"),
			"-X", "ssl.certificate.location=" + ca.Path(who+".pem"), "-X", "ssl.key.location=" + ca.Path(who+"-key.pem")}
	}
	run(t, strings.NewReader("one\ntwo\n"), "kcat", append([]string{"-b", addr, "-t", "mtls-kcat", "-P"}, kcat("alice")...)...)
	if out := run(t, nil, "kcat", append([]string{"-b", addr, "-t", "mtls-kcat", "-C", "-e", "-o", "beginning"}, kcat("bob")...)...); out != "one\ntwo\n" {
		t.Fatalf("kcat consumed %q", out)
	}

	props := func(who string) string {
		pem := func(name string) string {
			b, err := os.ReadFile(ca.Path(name))
			if err != nil {
				t.Fatal(err)
			}
			// A PEM value in a properties file: one line, newlines escaped.
			return strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", `\n`)
		}
		p := filepath.Join(ca.Dir, who+".properties")
		body := strings.Join([]string{"security.protocol=SSL", "ssl.truststore.type=PEM",
			"ssl.truststore.certificates=" + pem("ca.pem"), "ssl.keystore.type=PEM",
			"ssl.keystore.certificate.chain=" + pem(who+".pem"), "ssl.keystore.key=" + pem(who+"-key.pem"),
			"ssl.endpoint.identification.algorithm="}, "\n") + "\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	java := func(stdin, class string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dlog4j2.level=warn", "-cp", cp, class}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := java("three\n", "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", addr, "--topic", "mtls-java",
		"--producer.config", props("alice")); err != nil {
		t.Fatalf("Java console producer with alice's certificate: %v\n%s", err, out)
	}
	if out := run(t, nil, "kcat", append([]string{"-b", addr, "-t", "mtls-java", "-C", "-e", "-o", "beginning"}, kcat("alice")...)...); out != "three\n" {
		t.Fatalf("what the Java producer sent: %q", out)
	}
	// The principal is what the rules made of the subject: alice is a super user.
	if out, err := java("", "kafka.admin.ConfigCommand", "--bootstrap-server", addr, "--command-config", props("alice"),
		"--describe", "--entity-type", "users"); err != nil {
		t.Fatalf("kafka-configs as alice: %v\n%s", err, out)
	}
	if out, err := java("", "kafka.admin.ConfigCommand", "--bootstrap-server", addr, "--command-config", props("bob"),
		"--describe", "--entity-type", "users"); err == nil || !strings.Contains(out, "ClusterAuthorization") {
		t.Fatalf("kafka-configs as bob: %v, want a cluster authorization error\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := exec.CommandContext(ctx, "kcat", "-b", addr, "-L", "-m", "5", "-X", "security.protocol=SSL", "-X", "ssl.ca.location="+ca.Path("ca.pem"))
	if out, err := bad.CombinedOutput(); err == nil {
		t.Fatalf("kcat without a certificate listed metadata:\n%s", out)
	}
}
