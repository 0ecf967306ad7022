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

// BenchmarkProduce sends b.N messages through the bridge and, on another
// topic, directly through pulsar-client-go with the same batching (100
// messages, 5 ms), and reports produce-to-durable p99 (bridge: until the
// callback has the index).
func BenchmarkProduce(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("bridge-%dB", size), func(b *testing.B) { benchBridge(b, size) })
		b.Run(fmt.Sprintf("direct-%dB", size), func(b *testing.B) { benchDirect(b, size) })
	}
}

func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	return lat[len(lat)*99/100]
}

func benchBridge(b *testing.B, size int) {
	be := openBackend(b)
	ctx := context.Background()
	topic := fmt.Sprintf("persistent://public/default/bench-bridge-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, 0); err != nil {
		b.Fatal(err)
	}
	defer be.Admin().DeleteTopic(ctx, topic)
	p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic, BatchingMaxMessages: 100, BatchingMaxDelay: 5 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	val := make([]byte, size)
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := range b.N {
		wg.Add(1)
		start := time.Now()
		p.SendAsync(ctx, &bridge.OutMessage{Value: val}, func(_ bridge.SendResult, err error) {
			lat[i] = time.Since(start)
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	_ = p.Flush(ctx)
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
}

func benchDirect(b *testing.B, size int) {
	u, a := brokerURLs(b)
	_ = a
	c, err := pulsar.NewClient(pulsar.ClientOptions{URL: u, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	topic := fmt.Sprintf("persistent://public/default/bench-direct-%d", time.Now().UnixNano())
	p, err := c.CreateProducer(pulsar.ProducerOptions{Topic: topic, BatchingMaxMessages: 100, BatchingMaxPublishDelay: 5 * time.Millisecond, MaxPendingMessages: 10000})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	val := make([]byte, size)
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.SetBytes(int64(size))
	b.ResetTimer()
	for i := range b.N {
		wg.Add(1)
		start := time.Now()
		p.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: val}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			lat[i] = time.Since(start)
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	_ = p.Flush()
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(p99(lat).Microseconds())/1000, "p99-ms")
}
