package mqtt

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"
)

// How a test brings the client back: a second connection while the first
// is open (take-over), after the gateway saw the first close, to a new
// gateway on the same store, or (a shared store only) to another gateway
// while the first connection is open.
var comebacks = []string{"takeover", "reconnect", "restart"}

func (k *kit) comebacks() []string {
	if k.kind == "pulsar" {
		return append(comebacks, "elsewhere")
	}
	return comebacks
}

// comeBack brings client id back as how says; old is closed unless taking
// over. It returns the gateway now serving.
func comeBack(t *testing.T, k *kit, g *gateway, old *rawClient, id, how string) *gateway {
	t.Helper()
	switch how {
	case "takeover":
		return g
	case "elsewhere":
		return k.start(t)
	}
	old.close()
	for deadline := time.Now().Add(10 * time.Second); g.srv.hook.live(context.Background(), id); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the gateway still holds the closed connection")
		}
	}
	if how == "restart" {
		g.stop()
		g = k.start(t)
	}
	return g
}

func publish2(rc *rawClient, topic string, id uint16, payload string, dup bool) {
	rc.t.Helper()
	rc.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 2, Dup: dup},
		TopicName: topic, PacketID: id, Payload: []byte(payload)})
}

// A QoS 2 publisher that lost the connection before the PUBREC reached it
// sends the PUBLISH again (DUP) on its next connection: the gateway
// acknowledges it without storing a second copy. One that got the PUBREC
// sends PUBREL instead and gets PUBCOMP (success, not 0x92). A packet id
// is free again after PUBCOMP.
func TestQoS2PublishAcrossReconnect(t *testing.T) { eachBackend(t, testQoS2PublishAcrossReconnect) }

func testQoS2PublishAcrossReconnect(t *testing.T, k *kit) {
	g := k.start(t)
	for _, v := range []byte{4, 5} {
		for _, how := range k.comebacks() {
			id := k.id(fmt.Sprintf("q2pub-%d-%s", v, how))
			topic := k.topic(fmt.Sprintf("q2in/%d/%s", v, how))

			p, _ := dialRaw(t, g, id, v, true)
			publish2(p, topic, 7, "once", false)
			p.expect(packets.Pubrec, 7) // "lost": the client sends the PUBLISH again
			g = comeBack(t, k, g, p, id, how)
			p, ack := dialRaw(t, g, id, v, true)
			if !ack.SessionPresent {
				t.Fatalf("v%d %s: no session present", v, how)
			}
			publish2(p, topic, 7, "once", true)
			if pk := p.expect(packets.Pubrec, 7); pk.ReasonCode != 0 {
				t.Fatalf("v%d %s: PUBREC of the resent PUBLISH: reason %#x", v, how, pk.ReasonCode)
			}
			p.ack(packets.Pubrel, 7)
			if pk := p.expect(packets.Pubcomp, 7); pk.ReasonCode != 0 {
				t.Fatalf("v%d %s: PUBCOMP reason %#x", v, how, pk.ReasonCode)
			}

			publish2(p, topic, 8, "two", false)
			p.expect(packets.Pubrec, 8) // received: the client sends PUBREL next time
			g = comeBack(t, k, g, p, id, how)
			p, _ = dialRaw(t, g, id, v, true)
			p.ack(packets.Pubrel, 8)
			if pk := p.expect(packets.Pubcomp, 8); pk.ReasonCode != 0 {
				t.Fatalf("v%d %s: PUBCOMP after reconnect: reason %#x", v, how, pk.ReasonCode)
			}

			publish2(p, topic, 7, "three", false) // id 7 was released: a new message
			p.expect(packets.Pubrec, 7)
			p.ack(packets.Pubrel, 7)
			p.expect(packets.Pubcomp, 7)
			p.close()

			if got := stored(t, g, topic); !slices.Equal(got, []string{"once", "two", "three"}) {
				t.Fatalf("v%d %s: stored %q, want once, two, three", v, how, got)
			}
		}
	}
}

// A QoS 2 subscriber that lost the connection after its PUBREC gets the
// PUBREL again on its next connection, not the message; one that lost it
// before acknowledging gets the message again under the same packet id
// with DUP set, so that it knows it. Nothing comes a third time.
func TestQoS2DeliveryAcrossReconnect(t *testing.T) { eachBackend(t, testQoS2DeliveryAcrossReconnect) }

func testQoS2DeliveryAcrossReconnect(t *testing.T, k *kit) {
	g := k.start(t)
	for _, v := range []byte{4, 5} {
		for _, how := range k.comebacks() {
			id := k.id(fmt.Sprintf("q2sub-%d-%s", v, how))
			topic := k.topic(fmt.Sprintf("q2out/%d/%s", v, how))
			s, _ := dialRaw(t, g, id, v, true)
			s.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe}, PacketID: 1,
				Filters: packets.Subscriptions{{Filter: topic, Qos: 2}}})
			if pk := s.expect(packets.Suback, 1); pk.ReasonCodes[0] != 2 {
				t.Fatalf("SUBACK %v", pk.ReasonCodes)
			}
			pub := connect3(t, g, k.id(fmt.Sprintf("q2p-%d-%s", v, how)), true)
			pub.pub(t, topic, 2, false, "m1")
			pub.pub(t, topic, 2, false, "m2")
			pub.Disconnect(0)

			m1 := s.expect(packets.Publish, 0)
			s.ack(packets.Pubrec, m1.PacketID)
			var m2 packets.Packet
			for gotRel := false; !gotRel || m2.PacketID == 0; {
				switch pk := s.read(); {
				case pk.FixedHeader.Type == packets.Pubrel && pk.PacketID == m1.PacketID:
					gotRel = true
				case pk.FixedHeader.Type == packets.Publish && string(pk.Payload) == "m2":
					m2 = pk
				default:
					t.Fatalf("unexpected type %d id %d payload %q", pk.FixedHeader.Type, pk.PacketID, pk.Payload)
				}
			}
			if string(m1.Payload) != "m1" {
				t.Fatalf("first delivery %q", m1.Payload)
			}
			// Lost: the PUBCOMP of m1 and any ack of m2.

			g = comeBack(t, k, g, s, id, how)
			s, _ = dialRaw(t, g, id, v, true)
			for gotRel, gotM2 := false, false; !gotRel || !gotM2; {
				pk, err := s.next(10 * time.Second)
				if err != nil {
					t.Fatalf("v%d %s: PUBREL again %v, m2 again %v: %v", v, how, gotRel, gotM2, err)
				}
				switch {
				case pk.FixedHeader.Type == packets.Pubrel && pk.PacketID == m1.PacketID:
					gotRel = true
				case pk.FixedHeader.Type == packets.Publish && string(pk.Payload) == "m2":
					if pk.PacketID != m2.PacketID || !pk.FixedHeader.Dup {
						t.Fatalf("v%d %s: m2 again with id %d dup %v, want id %d dup", v, how, pk.PacketID, pk.FixedHeader.Dup, m2.PacketID)
					}
					gotM2 = true
					s.ack(packets.Pubrec, pk.PacketID)
				default:
					t.Fatalf("v%d %s: unexpected type %d id %d payload %q", v, how, pk.FixedHeader.Type, pk.PacketID, pk.Payload)
				}
			}
			s.ack(packets.Pubcomp, m1.PacketID)
			s.expect(packets.Pubrel, m2.PacketID)
			s.ack(packets.Pubcomp, m2.PacketID)
			s.none(300 * time.Millisecond)

			g = comeBack(t, k, g, s, id, "reconnect")
			s, _ = dialRaw(t, g, id, v, true)
			s.none(500 * time.Millisecond)
			s.close()
		}
	}
}

// A QoS 2 subscriber behind a full window gets its PUBRELs while the
// delivery loop waits: it used to hold them corked, the client never sent
// PUBCOMP, and delivery stopped at the window (64 messages with
// mosquitto_sub and four pipelining mosquitto_pub).
func TestQoS2SubscriberBehindAFullWindow(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.Window = 4 })
	sub := connect3(t, g, "q2-sub", true)
	sub.sub(t, "q2/full", 2)
	const pubs, each = 4, 100
	var toks []paho3.Token
	for p := range pubs {
		c := connect3(t, g, fmt.Sprintf("q2-pub-%d", p), true)
		for i := range each {
			toks = append(toks, c.Publish("q2/full", 2, false, fmt.Sprintf("p%d-%d", p, i)))
		}
	}
	for _, tok := range toks {
		wait3(t, tok)
	}
	got := expect(t, sub.got, pubs*each)
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.payload] = true
	}
	if len(seen) != pubs*each {
		t.Errorf("%d distinct messages of %d", len(seen), pubs*each)
	}
}
