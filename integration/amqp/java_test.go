// Package amqp_test runs the RabbitMQ Java client (com.rabbitmq:amqp-client from Maven
// Central) against the gateway's AMQP handler, served in-process on the embedded backend,
// and on Pulsar when PULSAR_URL and PULSAR_ADMIN_URL are set. The jars come from the local
// Maven repository (scripts/test.sh fetches them with mvn dependency:get, and installs a
// JDK); the test fails without them (-short skips it).
package amqp_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/integration/m2"
)

// serve runs the AMQP handler on 127.0.0.1:0 over b until the test ends.
func serve(t *testing.T, b bridge.Backend) string {
	t.Helper()
	srv, err := amqp.New(context.Background(), amqp.Options{Backend: b, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := handlers.NewServer(handlers.Options{Protocol: "amqp", Handler: srv, Logger: zap.NewNop(),
		Metrics: handlers.NewMetrics(prometheus.NewRegistry())})
	served := make(chan struct{})
	go func() { hs.Serve(ln); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		hs.Drain(ctx)
		<-served
		srv.Close()
		b.Close()
	})
	return ln.Addr().String()
}

func TestJavaClient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	cp := m2.CompileRabbitMQClient(t, "testdata/JavaClient.java")
	backends := map[string]func(t *testing.T) bridge.Backend{
		"embedded": func(t *testing.T) bridge.Backend {
			b, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		"pulsar": func(t *testing.T) bridge.Backend {
			u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
			if u == "" || a == "" {
				t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: u, AdminURL: a, Logger: zap.NewNop(), SkipIndexProbe: true})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for _, name := range []string{"embedded", "pulsar"} {
		t.Run(name, func(t *testing.T) {
			addr := serve(t, backends[name](t))
			// vhost "/": on Pulsar, public/default, so names carry a unique suffix.
			suffix := fmt.Sprintf("-%x", time.Now().UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "java", "-cp", cp,
				"JavaClient", "amqp://guest:guest@"+addr+"/%2f", suffix).CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("java client: %v", err)
			}
		})
	}
}
