package mqtt

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func TestRoundTripQoS3(t *testing.T) {
	g := startGateway(t, "")
	for qos := byte(0); qos <= 2; qos++ {
		sub := connect3(t, g, "sub3-"+string('0'+qos), true)
		sub.sub(t, "rt/3", qos)
		pub := connect3(t, g, "pub3-"+string('0'+qos), true)
		want := seq("m", 50)
		for _, p := range want {
			pub.pub(t, "rt/3", qos, false, p)
		}
		got := expect(t, sub.got, len(want))
		if !slices.Equal(payloads(got), want) {
			t.Fatalf("qos %d: got %v, want %v", qos, payloads(got), want)
		}
		for _, m := range got {
			if m.qos != qos || m.topic != "rt/3" {
				t.Fatalf("qos %d: got %+v", qos, m)
			}
		}
		sub.Disconnect(0)
		pub.Disconnect(0)
	}
}

func TestRoundTripQoS5(t *testing.T) {
	g := startGateway(t, "")
	for qos := byte(0); qos <= 2; qos++ {
		sub := connect5(t, g, "sub5-"+string('0'+qos), true, 0)
		sub.sub(t, "rt/5", qos)
		pub := connect5(t, g, "pub5-"+string('0'+qos), true, 0)
		want := seq("m", 50)
		for _, p := range want {
			pub.pub(t, "rt/5", qos, p, "k", "v")
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
func TestPublishReadableByBridge(t *testing.T) {
	g := startGateway(t, "")
	pub := connect5(t, g, "pub", true, 0)
	pub.pub(t, "site/room 1/temp", 1, "21.5", "unit", "C")

	ctx := context.Background()
	name := "persistent://public/default/site.room_201.temp"
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
	if string(m.Value) != "21.5" || m.Properties["unit"] != "C" || m.Properties[propTopic] != "site/room 1/temp" || m.Properties[propQos] != "1" {
		t.Fatalf("got %q %v", m.Value, m.Properties)
	}
}

// A Kafka-side write reaches an MQTT subscriber, at most at QoS 1.
func TestBridgeWriteReachesMQTT(t *testing.T) {
	g := startGateway(t, "")
	sub := connect3(t, g, "sub", true)
	sub.sub(t, "from/kafka", 2)
	p, err := g.backend.CreateProducer(context.Background(), bridge.ProducerOptions{Topic: "persistent://public/default/from.kafka"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Send(context.Background(), &bridge.OutMessage{Value: []byte("k1")}); err != nil {
		t.Fatal(err)
	}
	m := expect(t, sub.got, 1)[0]
	if m.payload != "k1" || m.topic != "from/kafka" || m.qos != 1 {
		t.Fatalf("got %+v", m)
	}
}
