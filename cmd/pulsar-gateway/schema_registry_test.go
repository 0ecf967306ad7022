package main

import (
	"net/http"
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
	logs, _ := startRun(t, append(portZeroArgs(t), "--schema-registry-password-file", pw))
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
