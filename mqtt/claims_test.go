package mqtt

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
)

// A client id connected on one gateway and then on another sharing its
// store: the first connection is taken over within a second (MQTT 5:
// DISCONNECT 0x8E; 3.1.1: closed), and the session goes on at the second
// with what the first left unacknowledged.
func TestTakeoverAcrossGateways(t *testing.T) { eachBackend(t, testTakeoverAcrossGateways) }

func testTakeoverAcrossGateways(t *testing.T, k *kit) {
	if k.kind != "pulsar" {
		t.Skip("one embedded store serves one gateway")
	}
	g1, g2 := k.start(t), k.start(t)
	for _, v := range []byte{4, 5} {
		id := k.id(fmt.Sprintf("across-%d", v))
		topic := k.topic(fmt.Sprintf("across/%d", v))
		a, _ := dialRaw(t, g1, id, v, true)
		a.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: 1,
			Filters: packets.Subscriptions{{Filter: topic, Qos: 1}}})
		a.expect(packets.Suback, 1)
		pub := connect3(t, g1, k.id(fmt.Sprintf("across-pub-%d", v)), true)
		pub.pub(t, topic, 1, false, "m1")
		if m1 := a.expect(packets.Publish, 0); string(m1.Payload) != "m1" {
			t.Fatalf("v%d: got %q", v, m1.Payload)
		} // and not acknowledged

		start := time.Now()
		b, ack := dialRaw(t, g2, id, v, true)
		if !ack.SessionPresent {
			t.Fatalf("v%d: CONNACK at the second gateway without its session", v)
		}
		pk, err := a.next(time.Second - time.Since(start))
		switch {
		case v == 5 && (err != nil || pk.FixedHeader.Type != packets.Disconnect || pk.ReasonCode != packets.ErrSessionTakenOver.Code):
			t.Fatalf("v5: first connection got %+v, %v; want DISCONNECT 0x8E within a second", pk.FixedHeader, err)
		case v == 4 && err != io.EOF:
			t.Fatalf("v4: first connection got %+v, %v; want it closed within a second", pk.FixedHeader, err)
		}
		t.Logf("v%d: taken over in %v", v, time.Since(start))

		again := b.expect(packets.Publish, 0)
		if string(again.Payload) != "m1" {
			t.Fatalf("v%d: the unacknowledged message came again as %q", v, again.Payload)
		}
		b.ack(packets.Puback, again.PacketID)
		pub.pub(t, topic, 1, false, "m2")
		if m2 := b.expect(packets.Publish, 0); string(m2.Payload) != "m2" {
			t.Fatalf("v%d: got %q, want m2", v, m2.Payload)
		}
	}
}

// A persistent session whose gateway died with its connection open has no
// disconnect time: its expiry runs from when another gateway (or the
// restarted one) saw the store say the holder is gone. Before that, such a
// session never expired.
func TestSessionOfDeadGatewayExpires(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		fast := func(o *Options) { o.SessionSweep = 200 * time.Millisecond }
		g1 := k.start(t)
		id, topic := k.id("dead-holder"), k.topic("dead/holder")
		c := connect5(t, g1, id, true, 2)
		c.sub(t, topic, 1)
		// The crash: the store goes before the connection ends, so nothing
		// records when it ended.
		g1.backend.Close()
		g1.stop()
		died := time.Now()
		g2 := k.start(t, fast)
		time.Sleep(time.Until(died.Add(4500 * time.Millisecond))) // 2 s expiry, sweep, timer slack
		c = connect5(t, g2, id, false, 2)
		if c.ack.SessionPresent {
			t.Fatal("4.5 s after its gateway died, a 2 s session is still there")
		}
	})
}
