package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// One rule, every protocol: alice may read orders.eu, so she reads it as
// the Kafka topic orders.eu, the MQTT topic orders/eu and the AMQP queue
// orders.eu, and nothing else: not write it, through any of them, nor read
// payments. carol, a super user, writes.
func TestRunOneRuleForEveryProtocol(t *testing.T) {
	pw := passwordFile(t, "alice", "a")
	mosquittoPasswd(t, "-b", pw, "carol", "c")
	acl := filepath.Join(t.TempDir(), "acls.yaml")
	if err := os.WriteFile(acl, []byte(`acls:
  - {principal: "User:alice", resource: topic, name: orders.eu, operations: [read]}
  - {principal: "User:alice", resource: vhost, name: "/", operations: [describe]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw, "--auth-acl-file", acl,
		"--auth-super-users", "carol", "--auth-open", "schema_registry"))
	addrs := listeningAddrs(t, logs.String, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	kafka := func(user, pass string, opts ...kgo.Opt) *kgo.Client {
		return kafkaAs(t, addrs["kafka"], user, pass, opts...)
	}
	amqp := func(user, pass string) *amqp091.Channel { return amqpChannel(t, addrs["amqp"], user, pass) }
	// carol makes the queues (a topic and its AMQP subscription).
	carolCh := amqp("carol", "c")
	for _, q := range []string{"orders.eu", "payments"} {
		if _, err := carolCh.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}

	got := make(chan string, 10)
	o := paho.NewClientOptions().AddBroker("tcp://" + addrs["mqtt"]).SetClientID("alice-m").SetUsername("alice").SetPassword("a").
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetProtocolVersion(4)
	m := paho.NewClient(o)
	if tok := m.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT as alice: %v", tok.Error())
	}
	defer m.Disconnect(0)
	sub := func(filter string) byte {
		tok := m.Subscribe(filter, 1, func(_ paho.Client, msg paho.Message) { got <- string(msg.Payload()) })
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatal("no SUBACK")
		}
		return tok.(*paho.SubscribeToken).Result()[filter]
	}
	if rc := sub("orders/eu"); rc != 1 {
		t.Fatalf("alice subscribes to orders/eu: SUBACK %#x", rc)
	}
	if rc := sub("payments"); rc != 0x80 {
		t.Fatalf("alice subscribes to payments: SUBACK %#x, want 0x80", rc)
	}

	carol := kafka("carol", "c")
	for _, r := range []*kgo.Record{{Topic: "orders.eu", Value: []byte("m1")}, {Topic: "payments", Value: []byte("p1")}} {
		if err := carol.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("carol produces: %v", err)
		}
	}

	// Kafka: read orders.eu, not write it, not read payments.
	reader := kafka("alice", "a", kgo.ConsumeTopics("orders.eu"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := reader.PollRecords(ctx, 1)
	if err := fs.Err(); err != nil || fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "m1" {
		t.Fatalf("alice reads orders.eu through Kafka: %v, %d records", err, fs.NumRecords())
	}
	alice := kafka("alice", "a")
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: "orders.eu", Value: []byte("no")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) &&
		!errors.Is(err, kerr.ClusterAuthorizationFailed) {
		t.Fatalf("alice writes orders.eu through Kafka: %v", err)
	}
	payments := kafka("alice", "a", kgo.ConsumeTopics("payments"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	defer cancelShort()
	if err := payments.PollFetches(short).Err(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice reads payments through Kafka: %v", err)
	}

	// MQTT: the message reached her subscription; her publish does not go.
	select {
	case p := <-got:
		if p != "m1" {
			t.Fatalf("alice's MQTT subscription got %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alice's MQTT subscription to orders/eu got nothing")
	}
	m.Publish("orders/eu", 1, false, "from mqtt").WaitTimeout(10 * time.Second) // acknowledged and dropped, as Mosquitto

	// AMQP: get from orders.eu; payments and publishing are refused.
	ch := amqp("alice", "a")
	d, ok, err := ch.Get("orders.eu", true)
	if err != nil || !ok || string(d.Body) != "m1" {
		t.Fatalf("alice gets from orders.eu through AMQP: %v %v %q", err, ok, d.Body)
	}
	refused := func(what string, err error) {
		t.Helper()
		if e := (*amqp091.Error)(nil); !errors.As(err, &e) || e.Code != 403 {
			t.Fatalf("alice %s through AMQP: %v, want 403", what, err)
		}
	}
	_, _, err = amqp("alice", "a").Get("payments", true)
	refused("gets from payments", err)
	pub := amqp("alice", "a")
	closed := pub.NotifyClose(make(chan *amqp091.Error, 1))
	if err := pub.PublishWithContext(ctx, "", "orders.eu", false, false, amqp091.Publishing{Body: []byte("from amqp")}); err != nil {
		refused("publishes to orders.eu", err)
	} else {
		select {
		case e := <-closed:
			refused("publishes to orders.eu", e)
		case <-time.After(10 * time.Second):
			t.Fatal("alice's publish to orders.eu was not refused")
		}
	}

	// Nothing alice sent got in: orders.eu still holds m1 only.
	all := kafka("carol", "c", kgo.ConsumeTopics("orders.eu"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs = all.PollRecords(ctx, 10)
	var values []string
	for _, r := range fs.Records() {
		values = append(values, string(r.Value))
	}
	if fmt.Sprint(values) != "[m1]" {
		t.Fatalf("orders.eu holds %v, want [m1]", values)
	}
	short2, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	if more := all.PollFetches(short2); more.NumRecords() > 0 {
		t.Fatalf("orders.eu holds more: %v", more.Records()[0].Value)
	}
}
