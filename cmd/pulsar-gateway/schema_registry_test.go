package main

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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The binary serves the schema registry on its listener; with
// --schema-registry-password-file a request needs HTTP Basic credentials
// of one of the file's users (401 and the registry's error shape otherwise).
func TestRunSchemaRegistryLogins(t *testing.T) {
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd not installed: apt-get install mosquitto (scripts/test.sh does)")
	}
	pw := filepath.Join(t.TempDir(), "passwd")
	if out, err := exec.Command(tool, "-b", "-c", pw, "alice", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	logs, _ := startRun(t, append(portZeroArgs(t), "--schema-registry-password-file", pw, "--auth-open", "kafka,mqtt,amqp"))
	url := "http://" + listeningAddrs(t, logs.String, 5)["schema_registry"]
	c := &http.Client{Timeout: 10 * time.Second}
	do := func(user, pass string) (int, string) {
		req, _ := http.NewRequest("POST", url+"/subjects/s-value/versions", strings.NewReader(`{"schema":"\"string\""}`))
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, body := do("alice", "s3cret"); code != 200 || !strings.Contains(body, `"id":1`) {
		t.Fatalf("alice registering: %d %s", code, body)
	}
	for _, login := range [][2]string{{"", ""}, {"alice", "wrong"}, {"bob", "s3cret"}} {
		if code, body := do(login[0], login[1]); code != 401 || !strings.Contains(body, `"error_code":40101`) {
			t.Errorf("login %q: %d %s, want 401 with error_code 40101", login, code, body)
		}
	}
}

// With --schema-registry-tls-* the registry answers over TLS only.
func TestRunSchemaRegistryTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	logs, _ := startRun(t, append(portZeroArgs(t), "--schema-registry-tls-cert-file", certFile, "--schema-registry-tls-key-file", keyFile))
	addr := listeningAddrs(t, logs.String, 5)["schema_registry"]
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get("https://" + addr + "/subjects")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /subjects over TLS: %d", resp.StatusCode)
	}
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/subjects"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP answered on the TLS listener")
	}
}
