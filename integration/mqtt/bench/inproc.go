package main

import (
	"context"
	"log"
	"net"
	"os"
	"runtime/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/mqtt"
)

// inproc serves the gateway's MQTT handler in this process on the
// embedded backend (for -cpuprofile: the profile then shows the gateway's
// hot path next to the load generator's).
func inproc(dir string) (addr string, stop func()) {
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := mqtt.New(context.Background(), mqtt.Options{Backend: b, Logger: zap.NewNop()})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := handlers.NewServer(handlers.Options{Protocol: "mqtt", Handler: srv, Logger: zap.NewNop(),
		Metrics: handlers.NewMetrics(prometheus.NewRegistry())})
	go hs.Serve(ln)
	return ln.Addr().String(), func() { hs.Close(); srv.Close(); b.Close() }
}

func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
