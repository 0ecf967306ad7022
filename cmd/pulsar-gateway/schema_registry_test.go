package main

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/tlsident/certtest"
)

// The binary serves the schema registry on its listener; with
// --schema-registry-password-file a request needs HTTP Basic credentials
// of one of the file's users (401 and the registry's error shape otherwise).
func TestRunSchemaRegistryLogins(t *testing.T) {
	pw := passwordFile(t, "alice", "s3cret")
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
	ca := certtest.NewCA(t)
	ca.Server(t, "server")
	certFile, keyFile := ca.Path("server.pem"), ca.Path("server-key.pem")
	logs, _ := startRun(t, append(portZeroArgs(t), "--schema-registry-tls-cert-file", certFile, "--schema-registry-tls-key-file", keyFile))
	addr := listeningAddrs(t, logs.String, 5)["schema_registry"]
	pool := ca.Pool
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
