package mqtt

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// A client that vanishes has its will published; one that says DISCONNECT
// does not.
func TestWill(t *testing.T) {
	g := startGateway(t, "")
	watch := connect3(t, g, "watch", true)
	watch.sub(t, "will/#", 1)

	for _, c := range []struct {
		id   string
		kill bool
	}{{"gone", true}, {"polite", false}} {
		var conn net.Conn
		o := paho3.NewClientOptions().AddBroker("tcp://"+g.addr).SetClientID(c.id).SetAutoReconnect(false).
			SetWill("will/"+c.id, "bye "+c.id, 1, false).
			SetCustomOpenConnectionFn(func(u *url.URL, _ paho3.ClientOptions) (net.Conn, error) {
				var err error
				conn, err = net.Dial("tcp", u.Host)
				return conn, err
			})
		cl := paho3.NewClient(o)
		wait3(t, cl.Connect())
		if c.kill {
			conn.Close()
		} else {
			cl.Disconnect(100)
		}
	}
	if m := expect(t, watch.got, 1)[0]; m.topic != "will/gone" || m.payload != "bye gone" {
		t.Fatalf("got %+v", m)
	}
	expectNone(t, watch.got, 300*time.Millisecond)
}

// A second connection with the same client id takes the session over: the
// first is closed, the second gets the subscription's messages.
func TestTakeover(t *testing.T) {
	g := startGateway(t, "")
	first := connect5(t, g, "dev", false, 3600)
	first.sub(t, "to/x", 1)
	second := connect5(t, g, "dev", false, 3600)
	select {
	case <-first.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first connection is still open")
	}
	pub := connect3(t, g, "pub", true)
	pub.pub(t, "to/x", 1, false, "hello")
	if m := expect(t, second.got, 1)[0]; m.payload != "hello" {
		t.Fatalf("got %+v", m)
	}
}

// $share/g/filter is one Shared subscription g: each message goes to one
// member of the group.
func TestSharedSubscription(t *testing.T) { eachBackend(t, testSharedSubscription) }

func testSharedSubscription(t *testing.T, k *kit) {
	g := k.start(t)
	a := connect5(t, g, k.id("a"), true, 0)
	a.sub(t, "$share/grp/"+k.topic("sh/+"), 1)
	b := connect5(t, g, k.id("b"), true, 0)
	b.sub(t, "$share/grp/"+k.topic("sh/+"), 1)
	pub := connect5(t, g, k.id("pub"), true, 0)
	const n = 40
	for _, p := range seq("s", n) {
		pub.pub(t, k.topic("sh/t"), 1, p)
	}
	// Each message reaches exactly one member: a second copy fails.
	seen := map[string]string{}
	take := func(member string, m msg) {
		if prev, dup := seen[m.payload]; dup {
			t.Fatalf("%s got %q, which %s got already", member, m.payload, prev)
		}
		seen[m.payload] = member
	}
	deadline := time.After(10 * time.Second)
	for len(seen) < n {
		select {
		case m := <-a.got:
			take("a", m)
		case m := <-b.got:
			take("b", m)
		case <-deadline:
			t.Fatalf("got %d of %d", len(seen), n)
		}
	}
	time.Sleep(500 * time.Millisecond) // a copy would have come by now
	select {
	case m := <-a.got:
		take("a", m)
	case m := <-b.got:
		take("b", m)
	default:
	}
}

// An unacknowledged QoS 1 message comes again after a reconnect.
func TestRedeliveryOfUnacked(t *testing.T) {
	g := startGateway(t, "")
	conn, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	c := paho.NewClient(paho.ClientConfig{ClientID: "lazy", Conn: conn, EnableManualAcknowledgment: true,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- string(pr.Packet.Payload) // never acknowledged
			return true, nil
		}}})
	expiry := uint32(3600)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "lazy", KeepAlive: 30, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "re/x", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	pub := connect3(t, g, "pub", true)
	pub.pub(t, "re/x", 1, false, "again")
	select {
	case p := <-got:
		if p != "again" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
	conn.Close()

	again := connect5(t, g, "lazy", false, 3600)
	if m := expect(t, again.got, 1)[0]; m.payload != "again" {
		t.Fatalf("got %+v", m)
	}
}
