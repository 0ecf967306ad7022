// Package metrics holds the gateway's Prometheus metrics that every
// protocol shares: what flows through it (Flow) and what waits in the
// backend (Sampled). Names follow Prometheus' conventions: a
// pulsar_gateway_ prefix, base units (seconds, bytes), _total on counters.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric of the gateway.
const Namespace = "pulsar_gateway"

// Set is the flow metrics of a process, one series set per protocol.
type Set struct {
	produced, producedBytes   *prometheus.CounterVec
	delivered, deliveredBytes *prometheus.CounterVec
	durable                   *prometheus.HistogramVec
	requests                  *prometheus.CounterVec
}

// DurableBuckets span an in-memory commit (tens of µs) to a broker in
// trouble (seconds).
var DurableBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewSet registers the flow metrics with reg.
func NewSet(reg prometheus.Registerer) *Set {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, append([]string{"protocol"}, labels...))
	}
	s := &Set{
		produced:       counter("messages_produced_total", "Messages clients published that the backend made durable (Kafka records, MQTT and AMQP publishes)."),
		producedBytes:  counter("produced_bytes_total", "Payload bytes of the messages counted by messages_produced_total."),
		delivered:      counter("messages_delivered_total", "Messages sent to clients (Kafka records fetched, MQTT and AMQP deliveries)."),
		deliveredBytes: counter("delivered_bytes_total", "Payload bytes of the messages counted by messages_delivered_total."),
		durable: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "produce_durable_seconds",
			Help:    "Time from a publish's arrival to the backend confirming it durable, which is when the client is acknowledged.",
			Buckets: DurableBuckets,
		}, []string{"protocol"}),
		requests: counter("requests_total", "Requests served: Kafka API, MQTT packet or AMQP method, by the protocol's answer code (Kafka error name, MQTT reason code, AMQP reply code).", "request", "code"),
	}
	reg.MustRegister(s.produced, s.producedBytes, s.delivered, s.deliveredBytes, s.durable, s.requests)
	return s
}

// Flow returns one protocol's metrics, every series present at 0 from
// the start so rate() sees the protocol before its first message.
func (s *Set) Flow(protocol string) *Flow {
	return &Flow{
		produced:       s.produced.WithLabelValues(protocol),
		producedBytes:  s.producedBytes.WithLabelValues(protocol),
		delivered:      s.delivered.WithLabelValues(protocol),
		deliveredBytes: s.deliveredBytes.WithLabelValues(protocol),
		durable:        s.durable.WithLabelValues(protocol),
		requests:       s.requests.MustCurryWith(prometheus.Labels{"protocol": protocol}),
	}
}

// Flow is one protocol's flow metrics. A nil *Flow records nothing, so a
// handler built without metrics (tests) needs no checks.
type Flow struct {
	produced, producedBytes   prometheus.Counter
	delivered, deliveredBytes prometheus.Counter
	durable                   prometheus.Observer
	requests                  *prometheus.CounterVec
	// byRequest caches the children of requests: WithLabelValues hashes
	// and locks on every call, and requests come at message rates.
	byRequest sync.Map // requestKey → prometheus.Counter
}

type requestKey struct{ request, code string }

// Produced counts messages made durable, bytes their payloads, and
// observes the time since the publish arrived.
func (f *Flow) Produced(messages, bytes int, arrived time.Time) {
	if f == nil {
		return
	}
	f.produced.Add(float64(messages))
	f.producedBytes.Add(float64(bytes))
	if !arrived.IsZero() {
		f.durable.Observe(time.Since(arrived).Seconds())
	}
}

// Delivered counts messages sent to clients.
func (f *Flow) Delivered(messages, bytes int) {
	if f == nil || messages == 0 {
		return
	}
	f.delivered.Add(float64(messages))
	f.deliveredBytes.Add(float64(bytes))
}

// Request counts one request by its name and answer code. Both come from
// small fixed sets (API names, reason codes), which bounds the series.
func (f *Flow) Request(request, code string) {
	if f == nil {
		return
	}
	k := requestKey{request, code}
	c, ok := f.byRequest.Load(k)
	if !ok {
		c, _ = f.byRequest.LoadOrStore(k, f.requests.WithLabelValues(request, code))
	}
	c.(prometheus.Counter).Inc()
}
