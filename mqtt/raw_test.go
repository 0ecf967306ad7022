package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/third_party/mochi-mqtt-server/packets"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// rawClient speaks MQTT packet by packet (mochi's codec), so a test can
// drop the connection at any step of a flow, as a network would.
type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
	v byte
}

// dialRaw connects client id with protocol version v (4 or 5); persistent
// is 3.1.1's clean session false, or 5's session expiry of an hour.
func dialRaw(t *testing.T, g *gateway, id string, v byte, persistent bool) (*rawClient, packets.Packet) {
	t.Helper()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawClient{t: t, c: c, r: bufio.NewReader(c), v: v}
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: v}
	pk.Connect = packets.ConnectParams{ProtocolName: []byte("MQTT"), Keepalive: 30, ClientIdentifier: id,
		Clean: !persistent}
	if v == 5 && persistent {
		pk.Properties.SessionExpiryInterval, pk.Properties.SessionExpiryIntervalFlag = 3600, true
	}
	rc.send(pk)
	ack := rc.read()
	if ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		t.Fatalf("CONNACK: %+v", ack)
	}
	return rc, ack
}

func (rc *rawClient) send(pk packets.Packet) {
	rc.t.Helper()
	pk.ProtocolVersion = rc.v
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pubrec:
		err = pk.PubrecEncode(&buf)
	case packets.Pubrel:
		pk.FixedHeader.Qos = 1
		err = pk.PubrelEncode(&buf)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&buf)
	case packets.Subscribe:
		pk.FixedHeader.Qos = 1
		err = pk.SubscribeEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	default:
		rc.t.Fatalf("rawClient cannot send type %d", pk.FixedHeader.Type)
	}
	if err == nil {
		_, err = rc.c.Write(buf.Bytes())
	}
	if err != nil {
		rc.t.Fatal(err)
	}
}

// ack sends a PUBACK, PUBREC, PUBREL or PUBCOMP.
func (rc *rawClient) ack(typ byte, id uint16) {
	rc.t.Helper()
	rc.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, PacketID: id})
}

// next reads one packet, or returns an error (a timeout after d).
func (rc *rawClient) next(d time.Duration) (packets.Packet, error) {
	rc.c.SetReadDeadline(time.Now().Add(d))
	b, err := rc.r.ReadByte()
	if err != nil {
		return packets.Packet{}, err
	}
	var fh packets.FixedHeader
	if err := fh.Decode(b); err != nil {
		return packets.Packet{}, err
	}
	n, _, err := packets.DecodeLength(rc.r)
	if err != nil {
		return packets.Packet{}, err
	}
	fh.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		return packets.Packet{}, err
	}
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: rc.v}
	switch fh.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	return pk, err
}

// read reads one packet within a few seconds.
func (rc *rawClient) read() packets.Packet {
	rc.t.Helper()
	pk, err := rc.next(10 * time.Second)
	if err != nil {
		rc.t.Fatalf("reading a packet: %v", err)
	}
	return pk
}

// expect reads one packet and checks its type and packet id (0: any).
func (rc *rawClient) expect(typ byte, id uint16) packets.Packet {
	rc.t.Helper()
	pk := rc.read()
	if pk.FixedHeader.Type != typ || (id != 0 && pk.PacketID != id) {
		rc.t.Fatalf("got packet type %d id %d (reason %#x), want type %d id %d", pk.FixedHeader.Type, pk.PacketID, pk.ReasonCode, typ, id)
	}
	return pk
}

// none fails if a packet arrives within d.
func (rc *rawClient) none(d time.Duration) {
	rc.t.Helper()
	pk, err := rc.next(d)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		rc.t.Fatalf("unexpected packet %+v (%v)", pk, err)
	}
}

func (rc *rawClient) close() { rc.c.Close() }

// stored lists the payloads of every message on an MQTT topic in the
// backend, from the earliest.
func stored(t *testing.T, g *gateway, topic string) []string {
	t.Helper()
	name, err := g.srv.topicName(topic)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := g.backend.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{name}, Subscription: "count-" + topic,
		NonDurable: true, InitialPosition: bridge.Earliest, Type: bridge.Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []string
	for {
		rctx, rcancel := context.WithTimeout(ctx, time.Second)
		m, err := c.Receive(rctx)
		rcancel()
		if err != nil {
			if os.Getenv("MQTT_TEST_LOG") != "" {
				t.Logf("stored(%s): %v after %d", topic, err, len(out))
			}
			return out
		}
		out = append(out, string(m.Value))
	}
}
