package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// artifactsDir is where browser tests leave their screenshots:
// $TEST_ARTIFACTS, else /tmp/pulsar-gateway-artifacts.
func artifactsDir(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pulsar-gateway-artifacts")
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium runs Debian's headless Chromium with args and returns stdout.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found (Debian package chromium; scripts/test.sh installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// --no-sandbox: the tests may run as root, where Chromium's sandbox
	// refuses to start.
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// figure finds the first match's group in a page's DOM, or fails.
func figure(t *testing.T, dom, page, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)` + pattern).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("%s: no %s in the page:\n%s", page, pattern, dom)
	}
	return m[1]
}

// TestConsoleInChromium loads every console page in a real browser
// against a gateway under load, checks the figures it shows against what
// the test produced, and saves screenshots.
func TestConsoleInChromium(t *testing.T) {
	logs, _ := startRun(t, portZeroArgs(t))
	addrs := listeningAddrs(t, logs.String, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	kc, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.DefaultProduceTopic("orders"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)
	if _, err := adm.CreateTopic(ctx, 3, -1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, -1, nil, "load"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := kc.ProduceSync(ctx, &kgo.Record{Partition: 1, Value: []byte("order-" + strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "orders", Partition: 1, At: 4, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(ctx, "billing", offs); err != nil {
		t.Fatal(err)
	}
	// A live group member, so the members table has a row.
	member, err := kgo.NewClient(kgo.SeedBrokers(addrs["kafka"]), kgo.ConsumerGroup("dashboard"), kgo.ConsumeTopics("orders"), kgo.ClientID("dash-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	for assigned := false; !assigned; {
		member.PollRecords(ctx, 100)
		if ctx.Err() != nil {
			t.Fatal("the member was never assigned partitions")
		}
		d, err := adm.DescribeGroups(ctx, "dashboard")
		assigned = err == nil && d["dashboard"].State == "Stable"
	}

	// MQTT: an offline persistent session with 3 messages waiting.
	dev := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID("dev-1").SetCleanSession(false))
	if tok := dev.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := dev.Subscribe("sensors/t", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	dev.Disconnect(100)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID("pub-1"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := range 3 {
		if tok := pub.Publish("sensors/t", 1, false, "21."+strconv.Itoa(i)); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}

	// AMQP: 5 messages in "work", a consumer holding 2 of them unacked.
	ch := amqpChannel(t, addrs["amqp"], "guest", "guest")
	if _, err := ch.QueueDeclare("work", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		conf, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", "work", false, false, amqp091.Publishing{Body: []byte("job-" + strconv.Itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := conf.WaitContext(ctx); !ok || err != nil {
			t.Fatalf("confirm: %v %v", ok, err)
		}
	}
	if err := ch.Qos(2, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume("work", "worker-1", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-deliveries:
		case <-ctx.Done():
			t.Fatal("no delivery from work")
		}
	}

	// The load: a producer at a steady pace for as long as the test looks.
	var loaded atomic.Int64
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for loadCtx.Err() == nil {
			<-tick.C
			kc.Produce(loadCtx, &kgo.Record{Topic: "load", Value: []byte("tick")}, func(_ *kgo.Record, err error) {
				if err == nil {
					loaded.Add(1)
				}
			})
		}
	}()
	// Rates are over the console's last period (2s): let two pass.
	time.Sleep(4500 * time.Millisecond)
	if loaded.Load() < 200 {
		t.Fatalf("the load produced only %d records", loaded.Load())
	}

	base := "http://" + addrs["http"] + "/console/"
	shots := artifactsDir(t, "console")
	dom := func(page string) string {
		// The virtual time budget lets the page's refresh run once.
		return chromium(t, "--virtual-time-budget=4000", "--dump-dom", base+page)
	}
	shoot := func(page, name string) {
		file := filepath.Join(shots, name+".png")
		chromium(t, "--window-size=1280,800", "--screenshot="+file, base+page)
		if st, err := os.Stat(file); err != nil || st.Size() < 5000 {
			t.Errorf("screenshot %s: %v", file, err)
		}
	}

	// Overview: the Kafka counter at least what the load had acknowledged
	// before the page loaded, a rate above zero, and the page refreshed.
	before := loaded.Load() + 10
	page := dom("")
	produced, _ := strconv.ParseFloat(figure(t, page, "overview", `data-figure="produced" data-protocol="kafka">([0-9]+)<`), 64)
	if int64(produced) < before {
		t.Errorf("overview: kafka produced %v, want at least %d", produced, before)
	}
	if r := figure(t, page, "overview", `data-figure="produced-rate" data-protocol="kafka">([^<]+)<`); r == "0/s" {
		t.Errorf("overview: kafka produced rate %s under load", r)
	}
	if got := figure(t, page, "overview", `data-figure="produced" data-protocol="mqtt">([0-9]+)<`); got != "3" {
		t.Errorf("overview: mqtt produced %s, want 3", got)
	}
	if got := figure(t, page, "overview", `data-figure="ready">([^<]+)<`); got != "ready" {
		t.Errorf("overview: backend %s", got)
	}
	if got := figure(t, page, "overview", `id="updated">([^<]*)<`); !strings.HasPrefix(got, "updated ") {
		t.Errorf("overview: the page did not refresh itself: %q", got)
	}
	shoot("", "overview")

	// Topics: partitions and the backlogs of the group and the session.
	page = dom("topics")
	if got := figure(t, page, "topics", `<tr data-topic="orders">.*?data-figure="partitions">([0-9]+)<`); got != "3" {
		t.Errorf("topics: orders has %s partitions, want 3", got)
	}
	if got := figure(t, page, "topics", `<tr data-topic="sensors.t">.*?data-protocol="mqtt">.*?data-figure="sub-backlog">([0-9]+)<`); got != "3" {
		t.Errorf("topics: sensors.t's MQTT backlog %s, want 3", got)
	}
	// Producers this gateway keeps for its clients, by protocol.
	for topic, protocol := range map[string]string{"orders": "kafka", "load": "kafka", "sensors.t": "mqtt", "work": "amqp"} {
		row := figure(t, page, "topics", `<tr data-topic="`+regexp.QuoteMeta(topic)+`">(.*?)</tr>`)
		if got := figure(t, row, "topics", `data-producers="`+protocol+`">.*?data-figure="producers">([0-9]+)<`); got != "1" {
			t.Errorf("topics: %s has %s %s producers here, want 1", topic, got, protocol)
		}
	}
	shoot("topics", "topics")

	// Kafka groups: billing's lag on partition 1, dashboard's member.
	page = dom("kafka")
	if got := figure(t, page, "kafka", `<table data-group="billing">.*?<tr data-partition="orders/1">.*?data-figure="lag">([0-9]+)<`); got != "6" {
		t.Errorf("kafka: billing lag on orders/1 = %s, want 6", got)
	}
	if got := figure(t, page, "kafka", `<table data-group="dashboard">.*?data-figure="state">([^<]+)<`); got != "Stable" {
		t.Errorf("kafka: dashboard is %s, want Stable", got)
	}
	if got := figure(t, page, "kafka", `<tr data-member="dash-1">.*?data-figure="assigned">([^<]*)<`); got != "orders/0, orders/1, orders/2" {
		t.Errorf("kafka: dash-1 assigned %q", got)
	}
	shoot("kafka", "kafka-groups")

	// MQTT sessions: dev-1 offline with 3 waiting, pub-1 connected.
	page = dom("mqtt")
	if got := figure(t, page, "mqtt", `<tr data-client="dev-1">.*?data-figure="waiting">([0-9]+)<`); got != "3" {
		t.Errorf("mqtt: dev-1 waiting %s, want 3", got)
	}
	if got := figure(t, page, "mqtt", `<tr data-client="dev-1">.*?data-figure="connected">([a-z]+)<`); got != "no" {
		t.Errorf("mqtt: dev-1 connected %s, want no", got)
	}
	if got := figure(t, page, "mqtt", `<tr data-client="pub-1">.*?data-figure="connected">([a-z]+)<`); got != "yes" {
		t.Errorf("mqtt: pub-1 connected %s, want yes", got)
	}
	shoot("mqtt", "mqtt-sessions")

	// AMQP queues: work with 3 ready, 2 unacked, 1 consumer.
	page = dom("amqp")
	for fig, want := range map[string]string{"ready": "3", "unacked": "2", "consumers": "1", "published": "5"} {
		if got := figure(t, page, "amqp", `<tr data-queue="/\|work">.*?data-figure="`+fig+`">([0-9]+)<`); got != want {
			t.Errorf("amqp: work %s %s, want %s", fig, got, want)
		}
	}
	shoot("amqp", "amqp-queues")
	t.Logf("screenshots in %s", shots)
}

// With logins on, the console asks for one and takes the protocols' users.
func TestConsoleBehindLogins(t *testing.T) {
	pw := passwordFile(t, "ops", "s3cret")
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw))
	addrs := listeningAddrs(t, logs.String, 5)
	url := "http://" + addrs["http"] + "/console/"
	for _, c := range []struct {
		user, pass string
		want       int
	}{{"", "", 401}, {"ops", "wrong", 401}, {"ops", "s3cret", 200}} {
		req, _ := http.NewRequest("GET", url, nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s:%s → %d, want %d", c.user, c.pass, resp.StatusCode, c.want)
		}
		if c.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("401 without a Basic challenge: %q", resp.Header.Get("WWW-Authenticate"))
		}
	}
	// /metrics and /healthz stay open to the scraper and the kubelet.
	if code, _ := httpGet(t, "http://"+addrs["http"]+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d with logins on", code)
	}
}
