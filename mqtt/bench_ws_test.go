package mqtt

import (
	"net"
	"testing"

	paho3 "github.com/eclipse/paho.mqtt.golang"

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
