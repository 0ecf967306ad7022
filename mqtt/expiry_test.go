package mqtt

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
)

// An MQTT 5 session whose expiry passed while its client was away is gone:
// its durable subscription is deleted and a reconnect starts afresh.
// No sweep comes within the test (30 s): the session's own timer drops it.
func TestSessionExpiry(t *testing.T) {
	g := startGateway(t, "")
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

// MQTT 5 session expiry, as a client sees it: a session connected with
// Clean Start and an interval of 5 s is there 2 s after it left (Session
// Present, its subscription kept, what came meanwhile delivered), also
// across a gateway restart, which does not reset the clock; once the
// interval has passed it is gone, with its durable subscription.
func TestSessionExpiryInterval(t *testing.T) { eachBackend(t, testSessionExpiryInterval) }

func testSessionExpiryInterval(t *testing.T, k *kit) {
	// The default sweep (30 s) comes after the test: the timer of the
	// session, or the sweep of a gateway starting, drops it.
	g := k.start(t)
	id, topic := k.id("sei"), k.topic("sei/x")
	c := connect5(t, g, id, true, 5)
	c.sub(t, topic, 1)
	c.Disconnect(nil)
	left := time.Now()
	pub := connect5(t, g, k.id("sei-pub"), true, 0)
	pub.pub(t, topic, 1, "away")
	pub.Disconnect(nil)
	g.stop()
	g = k.start(t)

	time.Sleep(time.Until(left.Add(2 * time.Second)))
	c = connect5(t, g, id, false, 5)
	if !c.ack.SessionPresent {
		t.Fatal("2 s into a 5 s session expiry: CONNACK says no session present")
	}
	if m := expect(t, c.got, 1)[0]; m.payload != "away" {
		t.Fatalf("got %+v, want the message published while away", m)
	}
	c.Disconnect(nil)
	left = time.Now()
	g.stop()

	time.Sleep(time.Until(left.Add(6 * time.Second))) // expired while the gateway was down
	g = k.start(t)
	name, err := g.srv.topicName(topic)
	if err != nil {
		t.Fatal(err)
	}
	waitNoSubscription(t, g, name)
	pub = connect5(t, g, k.id("sei-pub"), true, 0)
	pub.pub(t, topic, 1, "after")
	c = connect5(t, g, id, false, 5)
	if c.ack.SessionPresent {
		t.Fatal("after the session expiry: CONNACK says session present")
	}
	expectNone(t, c.got, time.Second)
}

// waitNoSubscription waits for a topic to have no subscription left.
func waitNoSubscription(t *testing.T, g *gateway, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		subs, err := g.backend.Admin().Subscriptions(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions of an expired session still there: %+v", subs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An interval of 0 ends the session when the connection does; DISCONNECT
// may change the interval, but not from 0 [MQTT-3.14.2-2].
func TestSessionExpiryOnDisconnect(t *testing.T) { eachBackend(t, testSessionExpiryOnDisconnect) }

func testSessionExpiryOnDisconnect(t *testing.T, k *kit) {
	g := k.start(t)
	zero := uint32(0)
	long := uint32(60)
	cases := []struct {
		name           string
		connect        uint32
		disconnect     *uint32
		wantPresent    bool
		wantSubDeleted bool
	}{
		{"zero", 0, nil, false, true},
		{"five to zero", 5, &zero, false, true},
		{"one to sixty", 1, &long, true, false},
	}
	for _, tc := range cases {
		id, topic := k.id("sed-"+tc.name), k.topic("sed/"+tc.name)
		c := connect5(t, g, id, true, tc.connect)
		c.sub(t, topic, 1)
		c.Disconnect(&paho.Disconnect{Properties: &paho.DisconnectProperties{SessionExpiryInterval: tc.disconnect}})
		time.Sleep(2 * time.Second) // past a 1 s interval
		name, err := g.srv.topicName(topic)
		if err != nil {
			t.Fatal(err)
		}
		if tc.wantSubDeleted {
			waitNoSubscription(t, g, name)
		}
		c = connect5(t, g, id, false, 60)
		if c.ack.SessionPresent != tc.wantPresent {
			t.Errorf("%s: session present %v, want %v", tc.name, c.ack.SessionPresent, tc.wantPresent)
		}
		c.Disconnect(&paho.Disconnect{Properties: &paho.DisconnectProperties{SessionExpiryInterval: &zero}})
	}

	// From 0 to non-zero: the server answers DISCONNECT 0x82.
	rc, _ := dialRaw(t, g, k.id("sed-raw"), 5, false)
	d := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}}
	d.Properties.SessionExpiryInterval, d.Properties.SessionExpiryIntervalFlag = 60, true
	rc.send(d)
	if pk := rc.expect(packets.Disconnect, 0); pk.ReasonCode != packets.ErrProtocolViolationZeroNonZeroExpiry.Code {
		t.Fatalf("DISCONNECT reason %#x, want 0x82", pk.ReasonCode)
	}
}
