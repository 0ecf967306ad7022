#!/usr/bin/env python3
"""Writes pulsar-gateway.json, the Grafana dashboard of the gateway's
/metrics. Edit the panels here and run it again; cmd/pulsar-gateway's
TestMetricsShowWhatFlows checks that every metric the dashboard queries is
one the gateway exports."""
import json, os

RATE = "$__rate_interval"
DS = {"type": "prometheus", "uid": "${datasource}"}

def panel(title, exprs, unit="short", legend="{{protocol}}", w=8, desc=""):
    return {"type": "timeseries", "title": title, "description": desc, "datasource": DS,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": [{"datasource": DS, "expr": e, "legendFormat": l, "refId": chr(65 + i)}
                        for i, (e, l) in enumerate(exprs if isinstance(exprs, list) else [(exprs, legend)])],
            "gridPos": {"w": w, "h": 8}}

def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}

sel = '{instance=~"$instance"}'
def s(m, extra=""):
    return m + '{instance=~"$instance"' + extra + '}'

panels = [
    row("Traffic"),
    panel("Connections", f"sum by (protocol) ({s('pulsar_gateway_connections_active')})"),
    panel("Messages produced / s", f"sum by (protocol) (rate({s('pulsar_gateway_messages_produced_total')}[{RATE}]))", "ops",
          desc="Messages clients published that the backend made durable."),
    panel("Messages delivered / s", f"sum by (protocol) (rate({s('pulsar_gateway_messages_delivered_total')}[{RATE}]))", "ops"),
    panel("Bytes on the wire / s", [
        (f"sum by (protocol) (rate({s('pulsar_gateway_bytes_in_total')}[{RATE}]))", "in {{protocol}}"),
        (f"sum by (protocol) (rate({s('pulsar_gateway_bytes_out_total')}[{RATE}]))", "out {{protocol}}")], "Bps"),
    panel("Produce to durable, p50 and p99", [
        (f"histogram_quantile(0.5, sum by (le, protocol) (rate({s('pulsar_gateway_produce_durable_seconds_bucket')}[{RATE}])))", "p50 {{protocol}}"),
        (f"histogram_quantile(0.99, sum by (le, protocol) (rate({s('pulsar_gateway_produce_durable_seconds_bucket')}[{RATE}])))", "p99 {{protocol}}")], "s",
          desc="From a publish's arrival to the backend confirming it durable: when the client is acknowledged."),
    panel("Refused or failed requests / s",
          f'sum by (protocol, request, code) (rate({s("pulsar_gateway_requests_total", ",code!~" + chr(34) + "NONE|0x00|200|none" + chr(34))}[{RATE}]))',
          "ops", "{{protocol}} {{request}} {{code}}", desc="Requests answered with an error code: Kafka error names, MQTT reason codes, AMQP reply codes."),
    row("Backlog"),
    panel("Kafka consumer lag (top 10)", f"topk(10, max by (group, topic, partition) ({s('pulsar_gateway_kafka_consumer_group_lag')}))",
          legend="{{group}} {{topic}}/{{partition}}"),
    panel("MQTT messages waiting for sessions (top 10)",
          f"topk(10, max by (client_id) ({s('pulsar_gateway_mqtt_session_messages_waiting')}))", legend="{{client_id}}"),
    panel("AMQP queues: ready and unacked (top 10)", [
        (f"topk(10, max by (vhost, queue) ({s('pulsar_gateway_amqp_queue_messages_ready')}))", "ready {{vhost}} {{queue}}"),
        (f"topk(10, sum by (vhost, queue) ({s('pulsar_gateway_amqp_queue_messages_unacked')}))", "unacked {{vhost}} {{queue}}")]),
    panel("Series left out of the scrape", f"max by (metric) ({s('pulsar_gateway_series_omitted')})", legend="{{metric}}",
          desc="Only the largest metrics.max_series series of each backlog gauge are exported."),
    row("Backend"),
    panel("Pulsar connections open", f"sum({s('pulsar_gateway_pulsar_connections_opened_total')}) - sum({s('pulsar_gateway_pulsar_connections_closed_total')})",
          legend="open"),
    panel("Pulsar reconnects and errors / s", [
        (f"sum(rate({s('pulsar_gateway_pulsar_connection_errors_total')}[{RATE}]))", "connection errors"),
        (f"sum(rate({s('pulsar_gateway_pulsar_producer_reconnect_failures_total')}[{RATE}]))", "producer reconnect failures"),
        (f"sum(rate({s('pulsar_gateway_pulsar_consumer_reconnect_failures_total')}[{RATE}]))", "consumer reconnect failures"),
        (f"sum(rate({s('pulsar_gateway_pulsar_send_errors_total')}[{RATE}]))", "send errors")], "ops"),
    panel("Sends pending in Pulsar", f"sum({s('pulsar_gateway_pulsar_pending_messages')})", legend="messages"),
    panel("Embedded store size", f"max by (instance) ({s('pulsar_gateway_embedded_store_bytes')})", "bytes", "{{instance}}"),
    panel("Embedded group commit (fsync), p99",
          f"histogram_quantile(0.99, sum by (le, instance) (rate({s('pulsar_gateway_embedded_commit_seconds_bucket')}[{RATE}])))", "s", "{{instance}}"),
    panel("Handler panics", f"sum by (protocol) (increase({s('pulsar_gateway_panics_total')}[1h]))", legend="{{protocol}}"),
]

# Lay the panels out left to right, rows across.
x = y = 0
for i, p in enumerate(panels):
    p["id"] = i + 1
    g = p["gridPos"]
    if p["type"] == "row" or x + g["w"] > 24:
        x, y = 0, y + (8 if x else 0)
    g["x"], g["y"] = x, y
    if p["type"] == "row":
        y += 1
    else:
        x += g["w"]

dashboard = {
    "title": "pulsar-gateway", "uid": "pulsar-gateway", "schemaVersion": 39, "version": 1,
    "editable": True, "tags": ["pulsar-gateway", "kafka", "mqtt", "amqp", "pulsar"],
    "time": {"from": "now-1h", "to": "now"}, "refresh": "30s",
    "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
        {"name": "instance", "type": "query", "datasource": DS, "label": "Gateway",
         "query": {"query": "label_values(pulsar_gateway_connections_active, instance)", "refId": "instance"},
         "definition": "label_values(pulsar_gateway_connections_active, instance)",
         "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2},
    ]},
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pulsar-gateway.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
