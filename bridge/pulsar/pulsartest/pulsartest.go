// Package pulsartest reads the broker the tests run against from the
// environment, as integration/pulsar/standalone.sh prints it, so that one
// suite runs against the plain broker and the secure one (--secure) alike.
package pulsartest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// Options are the backend options under an environment prefix ("PULSAR_"
// for what standalone.sh prints as is): URL, ADMIN_URL, and for the
// secure broker TLS_CA and TOKEN_FILE. ok is false when URL or ADMIN_URL
// is unset: the caller skips.
func Options(prefix string) (opts pulsarbackend.Options, ok bool) {
	opts = pulsarbackend.Options{
		URL:           os.Getenv(prefix + "URL"),
		AdminURL:      os.Getenv(prefix + "ADMIN_URL"),
		AuthTokenFile: os.Getenv(prefix + "TOKEN_FILE"),
		TLS:           pulsarbackend.TLSOptions{CAFile: os.Getenv(prefix + "TLS_CA")},
	}
	return opts, opts.URL != "" && opts.AdminURL != ""
}

// CreateNamespace makes a namespace (tenant/name) through the admin API,
// which the bridge has no call for, unless it exists.
func CreateNamespace(t testing.TB, prefix, ns string) {
	t.Helper()
	admin(t, prefix, http.MethodPut, "/admin/v2/namespaces/"+ns, "", http.StatusConflict)
}

// Grant gives role Pulsar's permissions (produce, consume) on a namespace,
// as `pulsar-admin namespaces grant-permission` does.
func Grant(t testing.TB, prefix, ns, role string, actions ...string) {
	t.Helper()
	admin(t, prefix, http.MethodPost, "/admin/v2/namespaces/"+ns+"/permissions/"+role, `["`+strings.Join(actions, `","`)+`"]`, 0)
}

// admin makes an admin API call as the broker's tests log in to it; a 2xx
// or the status ok passes.
func admin(t testing.TB, prefix, method, path, body string, ok int) {
	t.Helper()
	opts, _ := Options(prefix)
	hc, err := pulsarbackend.AdminHTTPClient(opts) // the secure broker's TLS and login too
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, strings.TrimRight(opts.AdminURL, "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != ok {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, out)
	}
}
