package mqtt

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

// kit is one backend of the table the tests that matter run on: the
// embedded store (always) and a real Pulsar broker when PULSAR_URL and
// PULSAR_ADMIN_URL are set. A restart is a new gateway on a new backend
// over the same store: the same directory, or the same broker.
type kit struct {
	kind   string
	dir    string // embedded store
	prefix string // makes topics and client ids unique on a shared broker
}

var kitSeq atomic.Int64

// eachBackend runs f once per available backend, as a subtest.
func eachBackend(t *testing.T, f func(t *testing.T, k *kit)) {
	t.Helper()
	kinds := []string{"embedded", "pulsar"}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			if kind == "pulsar" && (os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "") {
				t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
			}
			k := &kit{kind: kind, dir: t.TempDir()}
			if kind == "pulsar" {
				k.prefix = "t" + strconv.FormatInt(time.Now().UnixNano()/1e6%1e10, 36) + strconv.FormatInt(kitSeq.Add(1), 36)
			}
			f(t, k)
		})
	}
}

// topic is an MQTT topic (or filter) name unique to this test.
func (k *kit) topic(s string) string {
	if k.prefix == "" {
		return s
	}
	return k.prefix + "/" + s
}

// id is a client id unique to this test.
func (k *kit) id(s string) string {
	if k.prefix == "" {
		return s
	}
	return k.prefix + "-" + s
}

// open opens a backend over the kit's store.
func (k *kit) open(t testing.TB) bridge.Backend {
	t.Helper()
	log := zap.NewNop()
	switch k.kind {
	case "pulsar":
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		opts, _ := pulsartest.Options("PULSAR_")
		opts.Logger, opts.SkipIndexProbe = log, true
		b, err := pulsarbackend.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return b
	default:
		b, err := embedded.Open(embedded.Options{Dir: k.dir, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// start serves a gateway on a new backend over the kit's store.
func (k *kit) start(t testing.TB, opts ...func(*Options)) *gateway {
	t.Helper()
	log := zap.NewNop()
	if os.Getenv("MQTT_TEST_LOG") != "" {
		log = zaptest.NewLogger(t)
	}
	return serveGateway(t, k.open(t), log, opts...)
}
