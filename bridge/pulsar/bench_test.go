package pulsar_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// The benchmarks run every case through the bridge and, in the same run and
// interleaved, directly through pulsar-client-go with the same batching (100
// messages, 5 ms) and flow control, so ratios bridge/direct are comparable on
// a noisy machine. Run several times and take the median:
//
//	go test -run '^$' -bench . -benchtime 20000x -count 5 ./bridge/pulsar/
//
// BenchmarkProduce: b.N sends with at most benchWindow outstanding; p99-ms is
// produce-to-durable (bridge: until the callback has the index).
// BenchmarkConsume: b.N messages stored beforehand (untimed), then received
// and acknowledged one by one through a Shared subscription.

const (
	benchWindow   = 1000
	benchBatch    = 100
	benchDelay    = 5 * time.Millisecond
	benchReceiveQ = 1000
)

func BenchmarkProduce(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("bridge-%dB", size), func(b *testing.B) { benchProduce(b, newBridgeSide(b), size) })
		b.Run(fmt.Sprintf("direct-%dB", size), func(b *testing.B) { benchProduce(b, newDirectSide(b), size) })
	}
}

func BenchmarkConsume(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("bridge-%dB", size), func(b *testing.B) { benchConsume(b, newBridgeSide(b), size) })
		b.Run(fmt.Sprintf("direct-%dB", size), func(b *testing.B) { benchConsume(b, newDirectSide(b), size) })
	}
}

// side is one way to the broker: the bridge or the client directly.
type side interface {
	// producer opens a producer on a new topic; send calls done once durable.
	producer(b *testing.B) (send func(val []byte, done func(error)), flush func())
	// consumer subscribes (earliest) to the last producer's topic; next
	// receives and acknowledges one message.
	consumer(b *testing.B) (next func() error)
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

func benchProduce(b *testing.B, s side, size int) {
	send, flush := s.producer(b)
	val := make([]byte, size)
	lat := make([]time.Duration, b.N)
	window := make(chan struct{}, benchWindow)
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	t0 := time.Now()
	for i := range b.N {
		window <- struct{}{}
		wg.Add(1)
		start := time.Now()
		send(val, func(err error) {
			lat[i] = time.Since(start)
			if err != nil {
				b.Error(err)
			}
			<-window
			wg.Done()
		})
	}
	flush()
	wg.Wait()
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msg/s")
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
}

func benchConsume(b *testing.B, s side, size int) {
	send, flush := s.producer(b)
	val := make([]byte, size)
	var wg sync.WaitGroup
	for range b.N {
		wg.Add(1)
		send(val, func(err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	flush()
	wg.Wait()
	next := s.consumer(b)
	b.SetBytes(int64(size))
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if err := next(); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msg/s")
}

type bridgeSide struct {
	be    bridge.Backend
	topic string
}

func newBridgeSide(b *testing.B) side { return &bridgeSide{be: openBackend(b)} }

func (s *bridgeSide) producer(b *testing.B) (func([]byte, func(error)), func()) {
	ctx := context.Background()
	s.topic = fmt.Sprintf("persistent://public/default/bench-bridge-%d", time.Now().UnixNano())
	if err := s.be.Admin().CreateTopic(ctx, s.topic, 0); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.be.Admin().DeleteTopic(context.Background(), s.topic) })
	p, err := s.be.CreateProducer(ctx, bridge.ProducerOptions{Topic: s.topic, BatchingMaxMessages: benchBatch,
		BatchingMaxDelay: benchDelay, MaxPending: 10000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	send := func(val []byte, done func(error)) {
		p.SendAsync(ctx, &bridge.OutMessage{Value: val}, func(_ bridge.SendResult, err error) { done(err) })
	}
	return send, func() { _ = p.Flush(ctx) }
}

func (s *bridgeSide) consumer(b *testing.B) func() error {
	ctx := context.Background()
	c, err := s.be.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{s.topic}, Subscription: "bench",
		Type: bridge.Shared, InitialPosition: bridge.Earliest, ReceiverQueueSize: benchReceiveQ})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return func() error {
		m, err := c.Receive(ctx)
		if err != nil {
			return err
		}
		return c.Ack(m.ID)
	}
}

type directSide struct {
	c     pulsar.Client
	topic string
}

func newDirectSide(b *testing.B) side {
	u, _ := brokerURLs(b)
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: u, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return &directSide{c: c}
}

func (s *directSide) producer(b *testing.B) (func([]byte, func(error)), func()) {
	s.topic = fmt.Sprintf("persistent://public/default/bench-direct-%d", time.Now().UnixNano())
	p, err := s.c.CreateProducer(pulsar.ProducerOptions{Topic: s.topic, BatchingMaxMessages: benchBatch,
		BatchingMaxPublishDelay: benchDelay, MaxPendingMessages: 10000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	send := func(val []byte, done func(error)) {
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: val},
			func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { done(err) })
	}
	return send, func() { _ = p.Flush() }
}

func (s *directSide) consumer(b *testing.B) func() error {
	c, err := s.c.Subscribe(pulsar.ConsumerOptions{Topic: s.topic, SubscriptionName: "bench", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: benchReceiveQ,
		EnableBatchIndexAcknowledgment: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	ctx := context.Background()
	return func() error {
		m, err := c.Receive(ctx)
		if err != nil {
			return err
		}
		return c.Ack(m)
	}
}
