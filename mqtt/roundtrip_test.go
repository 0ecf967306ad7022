package mqtt

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func TestRoundTripQoS3(t *testing.T) { eachBackend(t, testRoundTripQoS3) }

func testRoundTripQoS3(t *testing.T, k *kit) {
	g := k.start(t)
	topic := k.topic("rt/3")
	for qos := byte(0); qos <= 2; qos++ {
		sub := connect3(t, g, k.id("sub3-"+string('0'+qos)), true)
		sub.sub(t, topic, qos)
		pub := connect3(t, g, k.id("pub3-"+string('0'+qos)), true)
		want := seq("m", 50)
		for _, p := range want {
			pub.pub(t, topic, qos, false, p)
		}
		got := expect(t, sub.got, len(want))
		if !slices.Equal(payloads(got), want) {
			t.Fatalf("qos %d: got %v, want %v", qos, payloads(got), want)
		}
		for _, m := range got {
			if m.qos != qos || m.topic != topic {
				t.Fatalf("qos %d: got %+v", qos, m)
			}
		}
		sub.Disconnect(0)
		pub.Disconnect(0)
	}
}

func TestRoundTripQoS5(t *testing.T) { eachBackend(t, testRoundTripQoS5) }

func testRoundTripQoS5(t *testing.T, k *kit) {
	g := k.start(t)
	topic := k.topic("rt/5")
	for qos := byte(0); qos <= 2; qos++ {
		sub := connect5(t, g, k.id("sub5-"+string('0'+qos)), true, 0)
		sub.sub(t, topic, qos)
		pub := connect5(t, g, k.id("pub5-"+string('0'+qos)), true, 0)
		want := seq("m", 50)
		for _, p := range want {
			pub.pub(t, topic, qos, p, "k", "v")
		}
		got := expect(t, sub.got, len(want))
		if !slices.Equal(payloads(got), want) {
			t.Fatalf("qos %d: got %v, want %v", qos, payloads(got), want)
		}
		if got[0].props["k"] != "v" || got[0].qos != qos {
			t.Fatalf("qos %d: got %+v, want user property k=v", qos, got[0])
		}
	}
}

// What an MQTT client publishes is what a Kafka client reads: the mapped
// topic, the payload, user properties as headers.
func TestPublishReadableByBridge(t *testing.T) { eachBackend(t, testPublishReadableByBridge) }

func testPublishReadableByBridge(t *testing.T, k *kit) {
	g := k.start(t)
	pub := connect5(t, g, k.id("pub"), true, 0)
	topic := k.topic("site/room 1/temp")
	pub.pub(t, topic, 1, "21.5", "unit", "C")

	ctx := context.Background()
	name := "persistent://public/default/" + strings.ReplaceAll(k.topic("site.room_201.temp"), "/", ".")
	r, err := g.backend.CreateReader(ctx, bridge.ReaderOptions{Topic: bridge.PartitionName(name, 0), Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Value) != "21.5" || m.Properties["unit"] != "C" || m.Properties[propTopic] != topic || m.Properties[propQos] != "1" {
		t.Fatalf("got %q %v", m.Value, m.Properties)
	}
}

// A Kafka-side write reaches an MQTT subscriber, at most at QoS 1.
func TestBridgeWriteReachesMQTT(t *testing.T) { eachBackend(t, testBridgeWriteReachesMQTT) }

func testBridgeWriteReachesMQTT(t *testing.T, k *kit) {
	g := k.start(t)
	sub := connect3(t, g, k.id("sub"), true)
	topic := k.topic("from/kafka")
	sub.sub(t, topic, 2)
	p, err := g.backend.CreateProducer(context.Background(), bridge.ProducerOptions{Topic: "persistent://public/default/" + strings.ReplaceAll(topic, "/", ".")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(context.Background(), &bridge.OutMessage{Value: []byte("k1")}); err != nil {
		t.Fatal(err)
	}
	m := expect(t, sub.got, 1)[0]
	if m.payload != "k1" || m.topic != topic || m.qos != 1 {
		t.Fatalf("got %+v", m)
	}
}

// An MQTT 5 no-local subscription does not get the client's own messages
// back through the backend, also after the session resumes; its other
// subscriptions and other clients' messages come as usual.
func TestNoLocal(t *testing.T) { eachBackend(t, testNoLocal) }

func testNoLocal(t *testing.T, k *kit) {
	g := k.start(t)
	id := k.id("nolocal")
	c := connect5(t, g, id, false, 3600)
	subNoLocal := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
			{Topic: k.topic("nl/x"), QoS: 1, NoLocal: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	subNoLocal()
	c.sub(t, k.topic("nl/y"), 1)
	other := connect3(t, g, k.id("nl-other"), true)

	c.pub(t, k.topic("nl/x"), 1, "own x")
	c.pub(t, k.topic("nl/y"), 1, "own y")
	other.pub(t, k.topic("nl/x"), 1, false, "other x")
	got := payloads(expect(t, c.got, 2))
	slices.Sort(got)
	if !slices.Equal(got, []string{"other x", "own y"}) {
		t.Fatalf("got %q, want other x and own y", got)
	}
	expectNone(t, c.got, 300*time.Millisecond)

	c.Disconnect(nil)
	c = connect5(t, g, id, false, 3600) // the subscription resumes, still no-local
	c.pub(t, k.topic("nl/x"), 1, "own again")
	other.pub(t, k.topic("nl/x"), 1, false, "other again")
	if m := expect(t, c.got, 1)[0]; m.payload != "other again" {
		t.Fatalf("after resuming got %q, want other again", m.payload)
	}
	expectNone(t, c.got, 300*time.Millisecond)
}
