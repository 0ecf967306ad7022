package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kgo"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

// runLatency measures publish-to-delivery at a steady rate, not at
// saturation: one producer sends -rate records a second of size bytes for
// -secs, one consumer reads as it goes, and each record carries its send
// time (benchout.Stamp). Targets are interleaved, their order rotated each
// run; the table shows medians over -runs of each run's percentiles.
func runLatency(ctx context.Context, want map[string]bool, size int, pulsarURL, adminURL, kafkaAddr string) {
	type ltarget struct {
		name, ref string
		run       func(ctx context.Context, topic string) ([]time.Duration, error)
	}
	var ts []ltarget
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	n := *latRate * *latSecs
	if want["gw-embedded"] {
		addr, stop := serveEmbedded(ctx)
		closers = append(closers, stop)
		ts = append(ts, ltarget{"gw-embedded", "kafka", func(ctx context.Context, topic string) ([]time.Duration, error) {
			return kgoLatency(ctx, addr, topic, size, n)
		}})
	}
	if want["kafka"] && kafkaAddr != "" {
		ts = append(ts, ltarget{"kafka", "", func(ctx context.Context, topic string) ([]time.Duration, error) {
			return kgoLatency(ctx, kafkaAddr, topic, size, n)
		}})
	}
	if want["gw-pulsar"] && pulsarURL != "" && adminURL != "" {
		b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
		check(err)
		addr, stop := serve(ctx, b)
		closers = append(closers, func() { stop(); b.Close() })
		ts = append(ts, ltarget{"gw-pulsar", "pulsar", func(ctx context.Context, topic string) ([]time.Duration, error) {
			return kgoLatency(ctx, addr, topic, size, n)
		}})
	}
	if want["pulsar"] && pulsarURL != "" {
		cl, err := pulsar.NewClient(pulsar.ClientOptions{URL: pulsarURL, Logger: plog.DefaultNopLogger()})
		check(err)
		closers = append(closers, cl.Close)
		ts = append(ts, ltarget{"pulsar", "", func(ctx context.Context, topic string) ([]time.Duration, error) {
			return pulsarLatency(ctx, cl, topic, size, n)
		}})
	}
	if len(ts) == 0 {
		fmt.Fprintln(os.Stderr, "no target")
		os.Exit(2)
	}
	pcts := map[string][][3]float64{}
	stamp := time.Now().UnixNano()
	for r := range *runs {
		for i := range ts {
			t := ts[(i+r)%len(ts)]
			lat, err := t.run(ctx, fmt.Sprintf("lat-%x-%s-%d", stamp, t.name, r))
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s run %d: %v\n", t.name, r, err)
				continue
			}
			p50, p99, p999 := benchout.Percentiles(lat)
			a50, a99, _ := benchout.Percentiles(acked.take())
			fmt.Fprintf(os.Stderr, "run %d %-11s p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms  (acked: p50 %6.2f ms  p99 %6.2f ms)\n", r, t.name, p50, p99, p999, a50, a99)
			pcts[t.name] = append(pcts[t.name], [3]float64{p50, p99, p999})
		}
	}
	fmt.Printf("\n| target | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|\n")
	for _, t := range ts {
		if len(pcts[t.name]) == 0 {
			continue
		}
		var recs []benchout.Record
		line := "| " + t.name + " |"
		for j, m := range []string{"p50 ms", "p99 ms", "p99.9 ms"} {
			var v []float64
			for _, p := range pcts[t.name] {
				v = append(v, p[j])
			}
			med := medianOf(v)
			line += fmt.Sprintf(" %.2f |", med)
			rec := benchout.Record{Group: "latency", Scenario: fmt.Sprintf("Kafka %d/s x %d B", *latRate, size), Metric: m,
				Target: t.name, Value: med, Lower: true, Runs: len(v)}
			if t.ref != "" && len(pcts[t.ref]) > 0 {
				rec.Ref = t.ref
			}
			recs = append(recs, rec)
		}
		fmt.Println(line)
		check(benchout.Append(*jsonOut, recs...))
	}
	fmt.Printf("\n(%d records/s of %d B for %d s per run, first tenth not counted, medians of %d runs)\n", *latRate, size, *latSecs, *runs)
}

// acked collects each run's send-to-acknowledgement times, which tell the
// produce side's share of the delivery latency from the consume side's.
var acked ackTimes

type ackTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

// add notes that the record with value v (stamped) was acknowledged now.
func (a *ackTimes) add(v []byte) {
	d := benchout.Latency(v)
	a.mu.Lock()
	a.d = append(a.d, d)
	a.mu.Unlock()
}

func (a *ackTimes) take() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := a.d
	a.d = nil
	return d
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s { // insertion sort: a handful of runs
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// kgoLatency: acks=all and lz4 as in the throughput runs, with -linger
// (1 ms by default, the Pulsar clients' batching delay: kgo's own default
// of 10 ms made half of every Kafka target's p50, the broker's or the
// gateway's share hidden under it); the consumer polls as records come.
func kgoLatency(ctx context.Context, addr, topic string, size, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.AllowAutoTopicCreation(), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerLinger(*latLinger))
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("warm-up")}).FirstErr(); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	lat := make([]time.Duration, 0, n)
	done := make(chan error, 1)
	go func() {
		for len(lat) < n {
			fs := cons.PollFetches(ctx)
			if err := ctx.Err(); err != nil {
				done <- fmt.Errorf("consumed %d of %d: %w", len(lat), n, err)
				return
			}
			var ferr error
			fs.EachError(func(_ string, _ int32, e error) { ferr = e })
			if ferr != nil {
				done <- ferr
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				if len(r.Value) == size {
					lat = append(lat, benchout.Latency(r.Value))
				}
			})
		}
		done <- nil
	}()
	values := benchout.Letters(n * size)
	var errOnce sync.Once
	var perr error
	err = benchout.Paced(n, *latRate, func(i int) error {
		v := values[i*size : (i+1)*size]
		benchout.Stamp(v)
		prod.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			acked.add(v)
			if err != nil {
				errOnce.Do(func() { perr = err })
			}
		})
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := prod.Flush(ctx); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if err := <-done; err != nil {
		return nil, err
	}
	return lat, nil
}

// pulsarLatency: pulsar-client-go with the throughput runs' batching (up to
// 1 ms), a consumer reading from the earliest message.
func pulsarLatency(ctx context.Context, cl pulsar.Client, topic string, size, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	full := "persistent://public/default/" + topic
	prod, err := cl.CreateProducer(pulsar.ProducerOptions{
		Topic: full, CompressionType: pulsar.LZ4, BatchingMaxSize: 1 << 20,
		BatchingMaxMessages: 10000, BatchingMaxPublishDelay: time.Millisecond, MaxPendingMessages: 10000,
	})
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	rd, err := cl.CreateReader(pulsar.ReaderOptions{Topic: full, StartMessageID: pulsar.EarliestMessageID(), ReceiverQueueSize: 10000})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	lat := make([]time.Duration, 0, n)
	done := make(chan error, 1)
	go func() {
		for len(lat) < n {
			m, err := rd.Next(ctx)
			if err != nil {
				done <- fmt.Errorf("consumed %d of %d: %w", len(lat), n, err)
				return
			}
			if len(m.Payload()) == size {
				lat = append(lat, benchout.Latency(m.Payload()))
			}
		}
		done <- nil
	}()
	values := benchout.Letters(n * size)
	var errOnce sync.Once
	var perr error
	err = benchout.Paced(n, *latRate, func(i int) error {
		v := values[i*size : (i+1)*size]
		benchout.Stamp(v)
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Payload: v}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			acked.add(v)
			if err != nil {
				errOnce.Do(func() { perr = err })
			}
		})
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, perr
	}
	if err := <-done; err != nil {
		return nil, err
	}
	return lat, nil
}
