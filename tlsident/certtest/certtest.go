// Package certtest issues throwaway certificates for tests of TLS and
// client-certificate logins: a CA, a server certificate for 127.0.0.1 and
// client certificates, each written as PEM files.
package certtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a test certificate authority; its files live in Dir.
type CA struct {
	Dir  string
	Pool *x509.CertPool // trusts the CA
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a CA and writes its certificate to Dir/ca.pem.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &CA{Dir: tb.TempDir(), Pool: x509.NewCertPool(), cert: cert, key: key}
	ca.Pool.AddCert(cert)
	ca.write(tb, "ca.pem", "CERTIFICATE", der)
	return ca
}

// Path is a file of the CA's folder.
func (ca *CA) Path(name string) string { return filepath.Join(ca.Dir, name) }

// Server issues a server certificate for 127.0.0.1, written as name.pem
// and name-key.pem.
func (ca *CA) Server(tb testing.TB, name string) tls.Certificate {
	return ca.issue(tb, name, pkix.Name{CommonName: "127.0.0.1"}, true)
}

// Client issues a client certificate for subject, written as name.pem and
// name-key.pem (PKCS #8, as Kafka's Java client reads PEM keys).
func (ca *CA) Client(tb testing.TB, name string, subject pkix.Name) tls.Certificate {
	return ca.issue(tb, name, subject, false)
}

func (ca *CA) issue(tb testing.TB, name string, subject pkix.Name, server bool) tls.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	certPEM := ca.write(tb, name+".pem", "CERTIFICATE", der)
	keyPEM := ca.write(tb, name+"-key.pem", "PRIVATE KEY", keyDER)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		tb.Fatal(err)
	}
	return pair
}

func (ca *CA) write(tb testing.TB, name, typ string, der []byte) []byte {
	tb.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(ca.Path(name), b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return b
}
