package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newHTTPHandler serves the operator endpoints:
//
//	/healthz  200 while the process runs (liveness)
//	/readyz   200 once listeners are up and the backend is open, 503 while
//	          starting or draining (readiness: take me out of the balancer)
//	/metrics  Prometheus metrics
//	/console/ the web console, when console is not nil (/ leads there)
func newHTTPHandler(reg *prometheus.Registry, ready func() bool, console http.Handler) http.Handler {
	mux := http.NewServeMux()
	if console != nil {
		mux.Handle(consolePrefix, console)
		mux.Handle("GET /{$}", http.RedirectHandler(consolePrefix, http.StatusFound))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
