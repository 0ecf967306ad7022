// Package pulsartest reads the broker the tests run against from the
// environment, as integration/pulsar/standalone.sh prints it, so that one
// suite runs against the plain broker and the secure one (--secure) alike.
package pulsartest

import (
	"os"

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
