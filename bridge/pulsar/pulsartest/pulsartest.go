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
	opts, _ := Options(prefix)
	hc, err := pulsarbackend.AdminHTTPClient(opts) // the secure broker's TLS and login too
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, strings.TrimRight(opts.AdminURL, "/")+"/admin/v2/namespaces/"+ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusConflict {
		t.Fatalf("create namespace %s: %s %s", ns, resp.Status, body)
	}
}
