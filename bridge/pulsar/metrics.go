package pulsar

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// clientMetricNames are the Pulsar Go client's metrics the gateway
// exports, renamed to its own prefix and Prometheus' conventions: the
// client's counters lack the _total suffix that promtool asks for.
var clientMetricNames = map[string]string{
	"pulsar_client_connections_opened":               "pulsar_gateway_pulsar_connections_opened_total",
	"pulsar_client_connections_closed":               "pulsar_gateway_pulsar_connections_closed_total",
	"pulsar_client_connections_establishment_errors": "pulsar_gateway_pulsar_connection_errors_total",
	"pulsar_client_connections_handshake_errors":     "pulsar_gateway_pulsar_handshake_errors_total",
	"pulsar_client_producers_opened":                 "pulsar_gateway_pulsar_producers_opened_total",
	"pulsar_client_producers_closed":                 "pulsar_gateway_pulsar_producers_closed_total",
	"pulsar_client_producers_reconnect_failure":      "pulsar_gateway_pulsar_producer_reconnect_failures_total",
	"pulsar_client_consumers_opened":                 "pulsar_gateway_pulsar_consumers_opened_total",
	"pulsar_client_consumers_closed":                 "pulsar_gateway_pulsar_consumers_closed_total",
	"pulsar_client_consumers_reconnect_failure":      "pulsar_gateway_pulsar_consumer_reconnect_failures_total",
	"pulsar_client_readers_opened":                   "pulsar_gateway_pulsar_readers_opened_total",
	"pulsar_client_readers_closed":                   "pulsar_gateway_pulsar_readers_closed_total",
	"pulsar_client_producer_pending_messages":        "pulsar_gateway_pulsar_pending_messages",
	"pulsar_client_producer_pending_bytes":           "pulsar_gateway_pulsar_pending_bytes",
	"pulsar_client_producer_errors":                  "pulsar_gateway_pulsar_send_errors_total",
	"pulsar_client_lookup_count":                     "pulsar_gateway_pulsar_lookups_total",
}

// clientMetricHelp is each exported metric's help, in the gateway's words.
var clientMetricHelp = map[string]string{
	"pulsar_gateway_pulsar_connections_opened_total":          "Connections the gateway's Pulsar clients opened to brokers; a rising count with a steady number of clients means reconnects.",
	"pulsar_gateway_pulsar_connections_closed_total":          "Connections of the gateway's Pulsar clients that closed.",
	"pulsar_gateway_pulsar_connection_errors_total":           "Failed attempts to connect to a Pulsar broker.",
	"pulsar_gateway_pulsar_handshake_errors_total":            "Pulsar connections whose handshake (login included) failed.",
	"pulsar_gateway_pulsar_producers_opened_total":            "Pulsar producers opened.",
	"pulsar_gateway_pulsar_producers_closed_total":            "Pulsar producers closed.",
	"pulsar_gateway_pulsar_producer_reconnect_failures_total": "Failed reconnects of Pulsar producers.",
	"pulsar_gateway_pulsar_consumers_opened_total":            "Pulsar consumers opened.",
	"pulsar_gateway_pulsar_consumers_closed_total":            "Pulsar consumers closed.",
	"pulsar_gateway_pulsar_consumer_reconnect_failures_total": "Failed reconnects of Pulsar consumers.",
	"pulsar_gateway_pulsar_readers_opened_total":              "Pulsar readers opened.",
	"pulsar_gateway_pulsar_readers_closed_total":              "Pulsar readers closed.",
	"pulsar_gateway_pulsar_pending_messages":                  "Messages sent to Pulsar and not yet confirmed durable.",
	"pulsar_gateway_pulsar_pending_bytes":                     "Bytes of the messages sent to Pulsar and not yet confirmed durable.",
	"pulsar_gateway_pulsar_send_errors_total":                 "Sends to Pulsar that failed.",
	"pulsar_gateway_pulsar_lookups_total":                     "Topic lookups made to Pulsar.",
}

// Metrics is the backend's collector for /metrics: the Pulsar clients'
// connection, producer, consumer and pending-send metrics, summed over the
// gateway's clients, per Pulsar namespace.
func (b *Backend) Metrics() prometheus.Collector { return clientCollector{b.clientMetrics} }

type clientCollector struct{ reg *prometheus.Registry }

// Describe sends nothing: the set of series depends on what the client
// has registered so far (an unchecked collector).
func (clientCollector) Describe(chan<- *prometheus.Desc) {}

func (c clientCollector) Collect(ch chan<- prometheus.Metric) {
	families, err := c.reg.Gather()
	if err != nil {
		return
	}
	for _, mf := range families {
		name, ok := clientMetricNames[mf.GetName()]
		if !ok {
			continue
		}
		vt := prometheus.GaugeValue
		if mf.GetType() == dto.MetricType_COUNTER {
			vt = prometheus.CounterValue
		} else if mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		// Summed by the labels that stay: the client's own "client"
		// label and per-topic labels are dropped.
		type series struct {
			values []string
			value  float64
		}
		var keys []string
		var labelNames []string
		sums := map[string]*series{}
		for _, m := range mf.GetMetric() {
			var names, values []string
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "pulsar_tenant" || lp.GetName() == "pulsar_namespace" {
					names = append(names, strings.TrimPrefix(lp.GetName(), "pulsar_"))
					values = append(values, lp.GetValue())
				}
			}
			labelNames = names
			k := strings.Join(values, "\x00")
			s := sums[k]
			if s == nil {
				s = &series{values: values}
				sums[k] = s
				keys = append(keys, k)
			}
			if vt == prometheus.CounterValue {
				s.value += m.GetCounter().GetValue()
			} else {
				s.value += m.GetGauge().GetValue()
			}
		}
		desc := prometheus.NewDesc(name, clientMetricHelp[name], labelNames, nil)
		for _, k := range keys {
			s := sums[k]
			if len(s.values) != len(labelNames) {
				continue
			}
			ch <- prometheus.MustNewConstMetric(desc, vt, s.value, s.values...)
		}
	}
}
