package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	paho "github.com/eclipse/paho.golang/paho"
	amqp091 "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

// With pulsar.act_as_clients the gateway logs in to Pulsar as each client,
// so Pulsar's own permissions decide: alice, granted produce and consume on
// the namespace with pulsar-admin's call, produces and consumes through
// Kafka, MQTT and AMQP; bob, granted nothing, is refused with each
// protocol's authorization error, producing and consuming.
func TestRunActAsClientsOnSecurePulsar(t *testing.T) {
	url, admin := os.Getenv("PULSAR_SECURE_URL"), os.Getenv("PULSAR_SECURE_ADMIN_URL")
	ca, tokenFile, key := os.Getenv("PULSAR_SECURE_TLS_CA"), os.Getenv("PULSAR_SECURE_TOKEN_FILE"), os.Getenv("PULSAR_SECURE_TOKEN_SECRET_KEY")
	if url == "" || admin == "" || ca == "" || tokenFile == "" || key == "" {
		t.Skip("PULSAR_SECURE_URL / _ADMIN_URL / _TLS_CA / _TOKEN_FILE / _TOKEN_SECRET_KEY unset: run `integration/pulsar/standalone.sh start --secure` and export what it prints with the PULSAR_SECURE_ prefix")
	}
	ns := fmt.Sprintf("actas%x", time.Now().UnixNano())
	pulsartest.CreateNamespace(t, "PULSAR_SECURE_", "public/"+ns)
	pulsartest.Grant(t, "PULSAR_SECURE_", "public/"+ns, "alice", "produce", "consume")
	pw := passwordFile(t, "alice", "a")
	mosquittoPasswd(t, "-b", pw, "bob", "b")
	logs, _ := startRun(t, append(portZeroArgs(t), "--backend", "pulsar", "--pulsar-url", url, "--pulsar-admin-url", admin,
		"--pulsar-tls-ca-file", ca, "--pulsar-auth-token-file", tokenFile, "--namespace", ns,
		"--pulsar-act-as-clients", "--pulsar-client-token-key-file", key,
		"--auth-password-file", pw, "--auth-open", "schema_registry", "--kafka-transactions", "markers"))
	addrs := listeningAddrs(t, logs.String, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Kafka. The topic is made by the gateway (its own login), as
	// auto-creation does.
	kafka := func(user, pass string, opts ...kgo.Opt) *kgo.Client {
		return kafkaAs(t, addrs["kafka"], user, pass, opts...)
	}
	alice := kafka("alice", "a", kgo.AllowAutoTopicCreation())
	if err := alice.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("k1")}).FirstErr(); err != nil {
		t.Fatalf("alice produces through Kafka: %v", err)
	}
	reader := kafka("alice", "a", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if fs := reader.PollRecords(ctx, 1); fs.Err() != nil || fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "k1" {
		t.Fatalf("alice consumes through Kafka: %v, %d records", fs.Err(), fs.NumRecords())
	}
	bob := kafka("bob", "b")
	if err := bob.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("no")}).FirstErr(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob produces through Kafka: %v, want TOPIC_AUTHORIZATION_FAILED from Pulsar's refusal", err)
	}
	bobReader := kafka("bob", "b", kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	short, cancelShort := context.WithTimeout(ctx, 10*time.Second)
	defer cancelShort()
	if err := bobReader.PollFetches(short).Err(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("bob consumes through Kafka: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}

	// MQTT 5: bob's QoS 1 publish gets PUBACK 0x87, alice's goes.
	mqtt := func(user, pass string) *paho.Client {
		conn, err := net.Dial("tcp", addrs["mqtt"])
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{ClientID: user + ns, Conn: conn})
		ca, err := c.Connect(ctx, &paho.Connect{ClientID: user + ns, CleanStart: true, KeepAlive: 30,
			Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true})
		if err != nil || ca.ReasonCode != 0 {
			t.Fatalf("MQTT as %s: %v %+v", user, err, ca)
		}
		t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
		return c
	}
	if r, err := mqtt("alice", "a").Publish(ctx, &paho.Publish{Topic: "orders", QoS: 1, Payload: []byte("m1")}); err != nil || r.ReasonCode != 0 {
		t.Fatalf("alice publishes through MQTT: %v %+v", err, r)
	}
	bobM := mqtt("bob", "b")
	if r, _ := bobM.Publish(ctx, &paho.Publish{Topic: "orders", QoS: 1, Payload: []byte("no")}); r == nil || r.ReasonCode != 0x87 {
		t.Fatalf("bob publishes through MQTT: %+v, want PUBACK 0x87", r)
	}
	if sa, err := bobM.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "orders", QoS: 1}}}); sa == nil || sa.Reasons[0] != 0x87 {
		t.Fatalf("bob subscribes through MQTT: %v %+v, want SUBACK 0x87", err, sa)
	}

	// AMQP: the queue is the same topic; bob's publish closes his channel
	// with 403, alice gets the messages.
	channel := func(user, pass string) *amqp091.Channel { return amqpChannel(t, addrs["amqp"], user, pass) }
	aliceCh := channel("alice", "a")
	if _, err := aliceCh.QueueDeclare("orders", true, false, false, false, nil); err != nil {
		t.Fatalf("alice declares the queue: %v", err)
	}
	bobCh := channel("bob", "b")
	closed := bobCh.NotifyClose(make(chan *amqp091.Error, 1))
	_ = bobCh.PublishWithContext(ctx, "", "orders", false, false, amqp091.Publishing{Body: []byte("no")})
	select {
	case e := <-closed:
		if e == nil || e.Code != 403 {
			t.Fatalf("bob publishes through AMQP: %v, want 403", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("bob's AMQP publish was not refused")
	}
	if err := aliceCh.PublishWithContext(ctx, "", "orders", false, false, amqp091.Publishing{Body: []byte("a1")}); err != nil {
		t.Fatal(err)
	}
	// With a message ready, a get subscribes, as bob: refused.
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, ok, err := channel("bob", "b").Get("orders", false)
		if e := (*amqp091.Error)(nil); errors.As(err, &e) && e.Code == 403 {
			break
		}
		if err != nil || ok || time.Now().After(end) {
			t.Fatalf("bob gets through AMQP: %v (got a message: %v), want 403", err, ok)
		}
	}
	// What alice wrote through every protocol, and nothing of bob's.
	fs := reader.PollRecords(ctx, 10)
	var got []string
	for _, r := range fs.Records() {
		got = append(got, string(r.Value))
	}
	for len(got) < 2 {
		more := reader.PollRecords(ctx, 10)
		if more.Err() != nil {
			t.Fatalf("alice reads on: %v (got %v)", more.Err(), got)
		}
		for _, r := range more.Records() {
			got = append(got, string(r.Value))
		}
	}
	if fmt.Sprint(got) != "[m1 a1]" {
		t.Fatalf("orders after k1 holds %v, want [m1 a1]", got)
	}
}
