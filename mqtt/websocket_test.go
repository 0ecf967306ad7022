package mqtt

import (
	"net"
	"testing"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"github.com/pulsar-gateway/pulsar-gateway/handlers"
	"github.com/pulsar-gateway/pulsar-gateway/handlers/ws"
)

// serveWebSocket serves g's MQTT over ws:// on a listener of its own, as
// the binary does (mqtt.ws_addr), and returns the URL.
func serveWebSocket(t testing.TB, g *gateway) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.hs.ServeWith(ln, handlers.Listener{Handler: ws.Handler(g.srv, ws.Options{Path: "/mqtt", Subprotocols: []string{"mqtt"}})})
	return "ws://" + ln.Addr().String() + "/mqtt"
}

// BenchmarkRoundTripQoS1WebSocket is BenchmarkRoundTripQoS1 with both
// clients over ws://: what the WebSocket framing costs.
func BenchmarkRoundTripQoS1WebSocket(b *testing.B) {
	g := startGateway(b, b.TempDir())
	url := serveWebSocket(b, g)
	connect := func(id string) *client3 {
		c := &client3{got: make(chan msg, b.N+10)}
		o := paho3.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
			SetAutoReconnect(false).SetOrderMatters(true).SetProtocolVersion(4).
			SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
				c.got <- msg{topic: m.Topic(), payload: string(m.Payload()), qos: m.Qos(), retain: m.Retained()}
			})
		c.Client = paho3.NewClient(o)
		wait3(b, c.Connect())
		b.Cleanup(func() { c.Disconnect(0) })
		return c
	}
	sub := connect("bsub-ws")
	sub.sub(b, "bench/rtws", 1)
	c := connect("bpub-ws")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Publish("bench/rtws", 1, false, "0123456789abcdef0123456789abcdef")
	}
	expect(b, sub.got, b.N)
}

// Over WebSocket the keep-alive holds as over TCP: a client silent for
// 1.5 times its keep-alive is dropped (the read deadline reaches through
// the WebSocket), one that pings is kept.
func TestWebSocketKeepAlive(t *testing.T) {
	g := startGateway(t, "")
	url := serveWebSocket(t, g)
	connect := func(id string) *websocket.Conn {
		c, _, err := (&websocket.Dialer{Subprotocols: []string{"mqtt"}}).Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// CONNECT 3.1.1, keep-alive 1 s.
		pk := append([]byte{0x10, 0, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 1, 0, byte(len(id))}, id...)
		pk[1] = byte(len(pk) - 2)
		if err := c.WriteMessage(websocket.BinaryMessage, pk); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, p, err := c.ReadMessage(); err != nil || p[0] != 0x20 {
			t.Fatalf("CONNACK %x %v", p, err)
		}
		return c
	}
	// The silent client's keep-alive runs from its CONNECT.
	silent := connect("ka-silent")
	start := time.Now()
	pinging := connect("ka-pinging")
	go func() {
		for range 6 {
			time.Sleep(500 * time.Millisecond)
			if pinging.WriteMessage(websocket.BinaryMessage, []byte{0xc0, 0}) != nil {
				return
			}
		}
	}()
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := silent.ReadMessage(); err == nil {
		t.Fatal("the silent client got a message")
	}
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Errorf("the silent client was dropped after %s, want about 1.5 s", d)
	}
	pinging.SetReadDeadline(time.Now().Add(2500 * time.Millisecond))
	for time.Since(start) < 2500*time.Millisecond {
		mt, p, err := pinging.ReadMessage()
		if err != nil {
			t.Fatalf("the pinging client was dropped after %s: %v", time.Since(start), err)
		}
		if mt != websocket.BinaryMessage || p[0] != 0xd0 {
			t.Fatalf("PINGRESP expected, got %d %x", mt, p)
		}
	}
}
