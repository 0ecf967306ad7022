package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scrapeValue is the value of one series in a /metrics text, or -1.
func scrapeValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// TestMetricsShowWhatFlows drives each protocol as a user would and reads
// /metrics as an operator would, on each backend: messages and bytes per
// protocol, the durable latency histogram, requests by code, Kafka lag per
// group and partition, the messages waiting for an offline MQTT session,
// the store's figures; promtool finds nothing to lint; and every metric the
// Grafana dashboard in deploy/ queries is one of them.
func TestMetricsShowWhatFlows(t *testing.T) {
	scrapes := map[string]string{}
	t.Run("embedded", func(t *testing.T) {
		text := metricsScenario(t, portZeroArgs(t), "")
		if v := scrapeValue(text, "pulsar_gateway_embedded_store_bytes"); v <= 0 {
			t.Errorf("pulsar_gateway_embedded_store_bytes = %v, want > 0", v)
		}
		if v := scrapeValue(text, "pulsar_gateway_embedded_commit_seconds_count"); v < 15 {
			t.Errorf("pulsar_gateway_embedded_commit_seconds_count = %v, want at least one commit per publish awaited (15)", v)
		}
		scrapes["embedded"] = text
	})
	t.Run("pulsar", func(t *testing.T) {
		url, admin := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
		if url == "" || admin == "" {
			t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
		}
		text := metricsScenario(t, append(portZeroArgs(t), "--backend", "pulsar", "--pulsar-url", url, "--pulsar-admin-url", admin),
			"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if v := scrapeValue(text, "pulsar_gateway_pulsar_connections_opened_total"); v < 1 {
			t.Errorf("pulsar_gateway_pulsar_connections_opened_total = %v, want at least 1", v)
		}
		if !strings.Contains(text, "\npulsar_gateway_pulsar_pending_messages") {
			t.Error("no pulsar_gateway_pulsar_pending_messages series")
		}
		scrapes["pulsar"] = text
	})
	if len(scrapes) == 2 {
		checkDashboard(t, scrapes["embedded"]+scrapes["pulsar"])
		checkREADMEListsMetrics(t, scrapes["embedded"]+scrapes["pulsar"])
	}
}

// metricsScenario runs a gateway with args, drives every protocol on
// names ending in sfx (a shared Pulsar keeps earlier runs' topics), checks
// what /metrics says, and returns the scrape.
func metricsScenario(t *testing.T, args []string, sfx string) string {
	logs, _ := startRun(t, append(args, "--metrics-sample-interval", "1s"))
	addrs := listeningAddrs(t, logs.String, 5)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orders, billing, dev1, sensors, jobs := "orders"+sfx, "billing"+sfx, "dev-1"+sfx, "sensors/t"+sfx, "jobs"+sfx

	// Kafka: 10 records, a group that committed 4 of them, a reader of all.
	kc, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.DefaultProduceTopic(orders))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	if _, err := kadm.NewClient(kc).CreateTopic(ctx, 1, -1, nil, orders); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := kc.ProduceSync(ctx, &kgo.Record{Value: []byte("order-" + strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: orders, Partition: 0, At: 4, LeaderEpoch: -1})
	if err := kadm.NewClient(kc).CommitAllOffsets(ctx, billing, offs); err != nil {
		t.Fatal(err)
	}
	reader, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.ConsumeTopics(orders), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for read := 0; read < 10; {
		fs := reader.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		read += fs.NumRecords()
	}

	// MQTT: a persistent session that went offline, then 3 messages for it.
	o := paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID(dev1).SetCleanSession(false)
	dev := paho.NewClient(o)
	if tok := dev.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := dev.Subscribe(sensors, 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	dev.Disconnect(100)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID("pub-1" + sfx))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := range 3 {
		if tok := pub.Publish(sensors, 1, false, "21."+strconv.Itoa(i)); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}

	// AMQP: 2 confirmed publishes, one basic.get, one refused passive declare.
	ch := amqpChannel(t, addrs["amqp"], "guest", "guest")
	if _, err := ch.QueueDeclare(jobs, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"job-1", "job-2"} {
		conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", jobs, false, false, amqp091.Publishing{Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := conf.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("confirm: %v %v", ok, err)
		}
	}
	if _, ok, err := ch.Get(jobs, true); !ok || err != nil {
		t.Fatalf("basic.get: %v %v", ok, err)
	}
	if _, err := ch.QueueDeclarePassive("no-such-queue", false, false, false, false, nil); err == nil {
		t.Fatal("passive declare of a missing queue succeeded")
	}

	web := "http://" + addrs["http"] + "/metrics"
	wants := map[string]float64{
		`pulsar_gateway_messages_produced_total{protocol="kafka"}`:                                              10,
		`pulsar_gateway_messages_delivered_total{protocol="kafka"}`:                                             10,
		`pulsar_gateway_messages_produced_total{protocol="mqtt"}`:                                               3,
		`pulsar_gateway_messages_produced_total{protocol="amqp"}`:                                               2,
		`pulsar_gateway_messages_delivered_total{protocol="amqp"}`:                                              1,
		`pulsar_gateway_produced_bytes_total{protocol="amqp"}`:                                                  10,
		`pulsar_gateway_delivered_bytes_total{protocol="amqp"}`:                                                 5,
		`pulsar_gateway_produce_durable_seconds_count{protocol="mqtt"}`:                                         3,
		`pulsar_gateway_requests_total{code="0x00",protocol="mqtt",request="publish"}`:                          3,
		`pulsar_gateway_requests_total{code="200",protocol="amqp",request="basic.publish"}`:                     2,
		`pulsar_gateway_requests_total{code="404",protocol="amqp",request="queue.declare"}`:                     1,
		`pulsar_gateway_kafka_consumer_group_lag{group="` + billing + `",partition="0",topic="` + orders + `"}`: 6,
		`pulsar_gateway_amqp_queue_messages_ready{queue="` + jobs + `",vhost="/"}`:                              1,
		`pulsar_gateway_amqp_queue_messages_unacked{queue="` + jobs + `",vhost="/"}`:                            0,
		`pulsar_gateway_amqp_queue_consumers{queue="` + jobs + `",vhost="/"}`:                                   0,
		`pulsar_gateway_mqtt_session_messages_waiting{client_id="` + dev1 + `"}`:                                3,
		`pulsar_gateway_requests_total{code="NONE",protocol="kafka",request="Produce"}`:                         10,
		`pulsar_gateway_requests_total{code="0x00",protocol="mqtt",request="connect"}`:                          2,
		`pulsar_gateway_series_omitted{metric="pulsar_gateway_kafka_consumer_group_lag"}`:                       0,
		`pulsar_gateway_produce_durable_seconds_bucket{protocol="kafka",le="+Inf"}`:                             10,
		`pulsar_gateway_panics_total{protocol="amqp"}`:                                                          0,
	}
	var text string
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, text = httpGet(t, web)
		missing := 0
		for s, v := range wants {
			if scrapeValue(text, s) != v {
				missing++
			}
		}
		if missing == 0 || time.Now().After(end) {
			break
		}
	}
	for s, v := range wants {
		if got := scrapeValue(text, s); got != v {
			t.Errorf("%s = %v, want %v", s, got, v)
		}
	}
	if regexp.MustCompile(`pulsar_gateway_produce_durable_seconds_sum\{protocol="kafka"\} 0\n`).MatchString(text) {
		t.Error("the Kafka durable latency sums to 0")
	}
	promtoolCheck(t, text)
	return text
}

// promtoolCheck lints a scrape with Prometheus' own promtool (Debian's
// prometheus package): names, units, suffixes, help texts.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found (Debian package prometheus; scripts/test.sh installs it)")
	}
	f := filepath.Join(t.TempDir(), "metrics.txt")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n(scrape saved in %s)", err, out, f)
	}
}

// checkDashboard fails for every metric the Grafana dashboard in deploy/
// queries that is not in the scrapes: a renamed metric must not leave an
// empty panel behind.
func checkDashboard(t *testing.T, scrapes string) {
	t.Helper()
	b, err := os.ReadFile("../../deploy/grafana/pulsar-gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/pulsar-gateway.json: %v", err)
	}
	walk(dash)
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has %d queries", len(exprs))
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(scrapes, "\n") {
		if name, _, ok := strings.Cut(line, "{"); ok && !strings.HasPrefix(line, "#") {
			exported[name] = true
		} else if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			exported[name] = true
		}
	}
	names := regexp.MustCompile(`\bpulsar_gateway_[a-z0-9_]+`)
	for _, e := range exprs {
		for _, name := range names.FindAllString(e, -1) {
			if !exported[name] {
				t.Errorf("the dashboard queries %s, which the gateway does not export (in %s)", name, e)
			}
		}
	}
}

// checkREADMEListsMetrics fails for a gateway metric the README's list
// lacks, and for one it lists that no scrape has.
func checkREADMEListsMetrics(t *testing.T, scrapes string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	exported := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (pulsar_gateway_[a-z0-9_]+) `).FindAllStringSubmatch(scrapes, -1) {
		exported[m[1]] = true
		if !strings.Contains(readme, "`"+m[1]+"`") {
			t.Errorf("README's metrics list lacks %s", m[1])
		}
	}
	for _, m := range regexp.MustCompile("`(pulsar_gateway_[a-z0-9_]+)`").FindAllStringSubmatch(readme, -1) {
		if !exported[m[1]] {
			t.Errorf("README lists %s, which no scrape has", m[1])
		}
	}
}
