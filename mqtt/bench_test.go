package mqtt

import (
	"testing"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// BenchmarkPublishQoS1 is one 3.1.1 client publishing QoS 1 messages with
// many in flight, each PUBACK after the backend's durable callback.
func BenchmarkPublishQoS1(b *testing.B) {
	g := startGateway(b, b.TempDir())
	c := connect3(b, g, "bench", true)
	toks := make([]paho3.Token, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		toks = append(toks, c.Publish("bench/q1", 1, false, "0123456789abcdef0123456789abcdef"))
	}
	for _, tok := range toks {
		wait3(b, tok)
	}
}

// BenchmarkRoundTripQoS1 is publish to delivery through one subscription.
func BenchmarkRoundTripQoS1(b *testing.B) {
	g := startGateway(b, b.TempDir())
	sub := connect3(b, g, "bsub", true)
	sub.got = make(chan msg, b.N+10)
	sub.sub(b, "bench/rt", 1)
	c := connect3(b, g, "bpub", true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Publish("bench/rt", 1, false, "0123456789abcdef0123456789abcdef")
	}
	expect(b, sub.got, b.N)
}
