package embedded_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// The embedded store must not be the gateway's bottleneck. These measure
// produce-to-durable and consume throughput on a real directory (fsync per
// group commit), for 100-byte and 1 KiB messages.

func openBench(b *testing.B) *embedded.Backend {
	b.Helper()
	be, err := embedded.Open(embedded.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// produce sends n messages of size bytes over producers producers (one per
// partition) and waits until every one is durable.
func produce(b *testing.B, be bridge.Backend, topic string, producers, n, size int) {
	b.Helper()
	ctx := context.Background()
	// Distinct values of random letters: zeros, or one value sent again and
	// again, would measure how well the store's block codec shrinks them.
	values := make([][]byte, 1024)
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	for k := range values {
		values[k] = make([]byte, size)
		for i := range values[k] {
			values[k][i] = 'a' + byte(rng.IntN(26))
		}
	}
	var wg sync.WaitGroup
	var failed sync.Once
	for p := 0; p < producers; p++ {
		pr, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName(topic, p)})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pr.Close()
			for i := 0; i < n/producers; i++ {
				pr.SendAsync(ctx, &bridge.OutMessage{Value: values[i%len(values)]}, func(_ bridge.SendResult, err error) {
					if err != nil {
						failed.Do(func() { b.Error(err) })
					}
				})
			}
			if err := pr.Flush(ctx); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
}

// cpuTime is the process's user and system CPU time so far. On a shared
// machine CPU per message is steadier than wall-clock throughput.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds msgs/s and CPU µs per message since cpu0.
func report(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/msg")
}

func BenchmarkProduce(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, producers := range []int{1, 4} {
			b.Run(fmt.Sprintf("size=%d/producers=%d", size, producers), func(b *testing.B) {
				be := openBench(b)
				topic := "bench-produce"
				if err := be.Admin().CreateTopic(context.Background(), topic, producers); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				b.ResetTimer()
				cpu0 := cpuTime()
				produce(b, be, topic, producers, b.N, size)
				report(b, cpu0)
			})
		}
	}
}

func BenchmarkConsume(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("subscription/size=%d", size), func(b *testing.B) {
			be := openBench(b)
			if err := be.Admin().CreateTopic(ctx, "bench-consume", 1); err != nil {
				b.Fatal(err)
			}
			produce(b, be, "bench-consume", 1, b.N, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			cpu0 := cpuTime()
			c, err := be.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"bench-consume"},
				Subscription: "bench", Type: bridge.Exclusive, InitialPosition: bridge.Earliest})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < b.N; i++ {
				m, err := c.Receive(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Ack(m.ID); err != nil {
					b.Fatal(err)
				}
			}
			report(b, cpu0)
		})
		b.Run(fmt.Sprintf("reader/size=%d", size), func(b *testing.B) {
			be := openBench(b)
			if err := be.Admin().CreateTopic(ctx, "bench-read", 1); err != nil {
				b.Fatal(err)
			}
			produce(b, be, "bench-read", 1, b.N, size)
			b.SetBytes(int64(size))
			b.ResetTimer()
			cpu0 := cpuTime()
			r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: bridge.PartitionName("bench-read", 0), Start: bridge.StartEarliest()})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			for i := 0; i < b.N; i++ {
				if _, err := r.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
			report(b, cpu0)
		})
	}
}

// BenchmarkCreateTopics is a fleet of devices each making a topic of its
// own at once (MQTT subscribers of their own topics): 32 creators.
func BenchmarkCreateTopics(b *testing.B) {
	be := openBench(b)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(16) // 32 creators on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := be.Admin().CreateTopic(ctx, fmt.Sprintf("device-%d", next.Add(1)), 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
