package handlers

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the connection metrics of every protocol, labelled
// protocol="kafka"|"mqtt"|"amqp". One Metrics serves all Servers of a
// process; each registry takes one.
type Metrics struct {
	active   *prometheus.GaugeVec
	total    *prometheus.CounterVec
	rejected *prometheus.CounterVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	errors   *prometheus.CounterVec
	panics   *prometheus.CounterVec
}

const metricsNamespace = "pulsar_gateway"

// NewMetrics registers the metrics with reg. It panics when they are
// already registered there, as prometheus.MustRegister does.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	labels := []string{"protocol"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "connections_active", Help: "Client connections open now.",
		}, labels),
		total:    counter("connections_total", "Client connections accepted and handed to the protocol handler."),
		rejected: counter("connections_rejected_total", "Client connections closed at once because the connection limit was reached."),
		bytesIn:  counter("bytes_in_total", "Bytes read from clients (on the wire, TLS included)."),
		bytesOut: counter("bytes_out_total", "Bytes written to clients (on the wire, TLS included)."),
		errors:   counter("errors_total", "Connections that ended with an error, and failed accepts."),
		panics:   counter("panics_total", "Protocol handler panics; each closed its connection."),
	}
	reg.MustRegister(m.active, m.total, m.rejected, m.bytesIn, m.bytesOut, m.errors, m.panics)
	return m
}

// protocolMetrics are one protocol's children, looked up once.
type protocolMetrics struct {
	active                                           prometheus.Gauge
	total, rejected, bytesIn, bytesOut, errs, panics prometheus.Counter
}

// forProtocol also makes every series exist at 0 before the first event,
// so dashboards and rate() see the protocol from the start.
func (m *Metrics) forProtocol(p string) protocolMetrics {
	return protocolMetrics{
		active:   m.active.WithLabelValues(p),
		total:    m.total.WithLabelValues(p),
		rejected: m.rejected.WithLabelValues(p),
		bytesIn:  m.bytesIn.WithLabelValues(p),
		bytesOut: m.bytesOut.WithLabelValues(p),
		errs:     m.errors.WithLabelValues(p),
		panics:   m.panics.WithLabelValues(p),
	}
}
