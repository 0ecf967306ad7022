package main

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os/exec"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulsar-gateway/pulsar-gateway/tlsident/certtest"
)

// Client certificates as logins: Kafka maps the subject through
// kafka.ssl_principal_mapping_rules (alice, a super user, may list SCRAM
// users; bob may not), MQTT with use_identity_as_username takes the CN,
// AMQP logs in with EXTERNAL; a client without a certificate gets no TLS
// session on any.
func TestRunClientCertificates(t *testing.T) {
	ca := certtest.NewCA(t)
	ca.Server(t, "server")
	alice := ca.Client(t, "alice", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}})
	bob := ca.Client(t, "bob", pkix.Name{CommonName: "bob", OrganizationalUnit: []string{"apps"}})
	f := ca.Path
	args := append(portZeroArgs(t),
		"--kafka-tls-cert-file", f("server.pem"), "--kafka-tls-key-file", f("server-key.pem"), "--kafka-tls-client-ca-file", f("ca.pem"),
		"--kafka-ssl-principal-mapping-rules", `RULE:^CN=([^,]*),OU=apps.*$/$1/L,DEFAULT`, "--auth-super-users", "alice",
		"--mqtt-tls-cert-file", f("server.pem"), "--mqtt-tls-key-file", f("server-key.pem"), "--mqtt-tls-client-ca-file", f("ca.pem"),
		"--mqtt-use-identity-as-username",
		"--amqp-tls-cert-file", f("server.pem"), "--amqp-tls-key-file", f("server-key.pem"), "--amqp-tls-client-ca-file", f("ca.pem"),
		"--amqp-ssl-cert-login-from", "common_name", "--auth-open", "schema_registry")
	logs, _ := startRun(t, args)
	addrs := listeningAddrs(t, logs.String, 5)
	tlsWith := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: ca.Pool, Certificates: certs}
	}

	kafka := func(conf *tls.Config) (kadm.DescribedUserSCRAMs, error) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.DialTLSConfig(conf), kgo.RequestRetries(0))
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return kadm.NewClient(cl).DescribeUserSCRAMs(ctx)
	}
	if _, err := kafka(tlsWith(alice)); err != nil {
		t.Errorf("Kafka as alice (a super user by her certificate): %v", err)
	}
	if _, err := kafka(tlsWith(bob)); !errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Errorf("Kafka as bob: %v, want CLUSTER_AUTHORIZATION_FAILED", err)
	}
	if _, err := kafka(tlsWith()); err == nil {
		t.Error("Kafka took a client without a certificate")
	}

	mqtt := func(conf *tls.Config) error {
		c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + addrs["mqtt"]).SetClientID("cert-client").
			SetTLSConfig(conf).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() == nil {
			c.Disconnect(0)
		}
		return tok.Error()
	}
	if err := mqtt(tlsWith(alice)); err != nil {
		t.Errorf("MQTT with alice's certificate: %v", err)
	}
	if err := mqtt(tlsWith()); err == nil {
		t.Error("MQTT took a client without a certificate")
	}
	// Mosquitto's own client, with alice's certificate and without one.
	_, port, _ := net.SplitHostPort(addrs["mqtt"])
	pub := func(cert ...string) error {
		args := append([]string{"-h", "127.0.0.1", "-p", port, "--cafile", f("ca.pem"), "-t", "certs/hello", "-m", "hi", "-q", "1"}, cert...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "mosquitto_pub", args...).Run()
	}
	if err := pub("--cert", f("alice.pem"), "--key", f("alice-key.pem")); err != nil {
		t.Errorf("mosquitto_pub with alice's certificate: %v", err)
	}
	if err := pub(); err == nil {
		t.Error("mosquitto_pub without a certificate was taken")
	}

	// AMQP: EXTERNAL, the only mechanism offered without a password file.
	c, err := amqp091.DialTLS_ExternalAuth("amqps://"+addrs["amqp"]+"/", tlsWith(alice))
	if err != nil {
		t.Errorf("AMQP EXTERNAL with alice's certificate: %v", err)
	} else {
		c.Close()
	}
	if _, err := amqp091.DialTLS("amqps://anyone:anything@"+addrs["amqp"]+"/", tlsWith(alice)); err == nil {
		t.Error("AMQP took a PLAIN login where only EXTERNAL is offered")
	}
	if _, err := amqp091.DialTLS_ExternalAuth("amqps://"+addrs["amqp"]+"/", tlsWith()); err == nil {
		t.Error("AMQP took a client without a certificate")
	}
}
