package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testCA issues certificates for a test: the gateway's server certificate
// and clients' certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, dir: t.TempDir(), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	os.WriteFile(filepath.Join(ca.dir, "ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return ca
}

// issue returns a certificate for subject (a server's for 127.0.0.1 when
// server), written as name.pem and name-key.pem.
func (ca *testCA) issue(t *testing.T, name string, subject pkix.Name, server bool) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	os.WriteFile(filepath.Join(ca.dir, name+".pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(ca.dir, name+"-key.pem"), keyPEM, 0o600)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// Client certificates as logins: Kafka maps the subject through
// kafka.ssl_principal_mapping_rules (alice, a super user, may list SCRAM
// users; bob may not), MQTT with use_identity_as_username takes the CN,
// AMQP logs in with EXTERNAL; a client without a certificate gets no TLS
// session on any.
func TestRunClientCertificates(t *testing.T) {
	ca := newTestCA(t)
	ca.issue(t, "server", pkix.Name{CommonName: "127.0.0.1"}, true)
	alice := ca.issue(t, "alice", pkix.Name{CommonName: "alice", OrganizationalUnit: []string{"apps"}, Organization: []string{"Example"}}, false)
	bob := ca.issue(t, "bob", pkix.Name{CommonName: "bob", OrganizationalUnit: []string{"apps"}}, false)
	f := func(n string) string { return filepath.Join(ca.dir, n) }
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
		return &tls.Config{RootCAs: ca.pool, Certificates: certs}
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
