package mqtt

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
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

// With users configured, a wrong password is refused.
func TestAuth(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.Users = map[string]string{"dev": "s3cret"} })
	for _, c := range []struct {
		pass string
		ok   bool
	}{{"s3cret", true}, {"wrong", false}} {
		o := paho3.NewClientOptions().AddBroker("tcp://" + g.addr).SetClientID("auth").SetUsername("dev").SetPassword(c.pass).SetAutoReconnect(false)
		cl := paho3.NewClient(o)
		tok := cl.Connect()
		tok.WaitTimeout(5 * time.Second)
		if (tok.Error() == nil) != c.ok {
			t.Errorf("password %q: connect error %v", c.pass, tok.Error())
		}
		cl.Disconnect(0)
	}
}
