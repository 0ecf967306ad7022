package mqtt

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// An MQTT 5 session whose expiry passed while its client was away is gone:
// its durable subscription is deleted and a reconnect starts afresh.
func TestSessionExpiry(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.SessionSweep = 100 * time.Millisecond })
	c := connect5(t, g, "brief", false, 1)
	c.sub(t, "exp/x", 1)
	c.Disconnect(nil)
	pub := connect3(t, g, "pub", true)
	pub.pub(t, "exp/x", 1, false, "while away")

	topic := "persistent://public/default/exp.x"
	deadline := time.Now().Add(10 * time.Second)
	for {
		subs, err := g.backend.Admin().Subscriptions(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions still there: %+v", subs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	again := connect5(t, g, "brief", false, 1)
	expectNone(t, again.got, 300*time.Millisecond)
}

// A delayed will waits; a client back in time cancels it.
func TestWillDelay(t *testing.T) {
	g := startGateway(t, "")
	watch := connect3(t, g, "watch", true)
	watch.sub(t, "wd/#", 1)

	dial := func(id string, delay uint32) net.Conn {
		conn, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn})
		expiry := uint32(60)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = c.Connect(ctx, &paho.Connect{ClientID: id, KeepAlive: 30, WillMessage: &paho.WillMessage{Topic: "wd/" + id, Payload: []byte("bye"), QoS: 1},
			WillProperties: &paho.WillProperties{WillDelayInterval: &delay},
			Properties:     &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	dial("back", 1).Close()
	dial("late", 1).Close()
	connect5(t, g, "back", false, 60) // within the delay
	start := time.Now()
	m := expect(t, watch.got, 1)[0]
	if m.topic != "wd/late" || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("got %+v after %v, want wd/late after about a second", m, time.Since(start))
	}
	expectNone(t, watch.got, 1500*time.Millisecond)
}

// MQTT 5 message expiry: a message that expired while a persistent session
// was away is not delivered to it, nor is an expired retained message; one
// that has time left arrives with the interval left, and a message without
// expiry without one.
func TestMessageExpiry(t *testing.T) { eachBackend(t, testMessageExpiry) }

func testMessageExpiry(t *testing.T, k *kit) {
	g := k.start(t)
	sub := connect5(t, g, k.id("exp-sub"), false, 3600)
	sub.sub(t, k.topic("mexp/x"), 1)
	sub.Disconnect(nil)

	pub := connect5(t, g, k.id("exp-pub"), true, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	send := func(topic, payload string, retain bool, expiry uint32) {
		t.Helper()
		p := &paho.Publish{Topic: k.topic(topic), QoS: 1, Retain: retain, Payload: []byte(payload), Properties: &paho.PublishProperties{}}
		if expiry > 0 {
			p.Properties.MessageExpiry = &expiry
		}
		if _, err := pub.Publish(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	send("mexp/x", "short", false, 1)
	send("mexp/x", "long", false, 3600)
	send("mexp/x", "forever", false, 0)
	send("mexp/r1", "short retained", true, 1)
	send("mexp/r2", "long retained", true, 3600)
	time.Sleep(1100 * time.Millisecond) // "short" expires

	sub = connect5(t, g, k.id("exp-sub"), false, 3600)
	got := expect(t, sub.got, 2)
	if got[0].payload != "long" || got[0].expiry < 3500 || got[0].expiry > 3600 {
		t.Errorf("first: %q expiry %d, want long with about 3600 left", got[0].payload, got[0].expiry)
	}
	if got[1].payload != "forever" || got[1].expiry != 0 {
		t.Errorf("second: %q expiry %d, want forever without expiry", got[1].payload, got[1].expiry)
	}
	sub.sub(t, k.topic("mexp/+"), 1)
	if m := expect(t, sub.got, 1)[0]; m.payload != "long retained" || !m.retain || m.expiry < 3500 || m.expiry > 3600 {
		t.Errorf("retained: %+v, want long retained with about 3600 left", m)
	}
	expectNone(t, sub.got, 300*time.Millisecond)
}
