package kafka

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// startGateway serves Kafka on an in-memory embedded backend over a real
// socket and returns its address.
func startGateway(t *testing.T) string {
	t.Helper()
	addr, _ := startGatewayBackend(t)
	return addr
}

// startGatewayBackend is startGateway that also returns the backend.
func startGatewayBackend(t *testing.T) (string, bridge.Backend) {
	t.Helper()
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return serveOn(t, b), b
}

// startGatewayB is startGateway for benchmarks.
func startGatewayB(tb testing.TB) string {
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return serveOn(tb, b)
}

// serveOn starts one more gateway on a backend, as a replica would.
func serveOn(t testing.TB, b bridge.Backend) string { return serveWith(t, b, nil) }

// serveWith is serveOn with options changed by set.
func serveWith(t testing.TB, b bridge.Backend, set func(*Options)) string {
	t.Helper()
	addr, _, _ := serveHandler(t, b, set)
	return addr
}

// serveHandler is serveWith that also returns the handler and what stops
// it (once; the test's end stops it too).
func serveHandler(t testing.TB, b bridge.Backend, set func(*Options)) (string, *Handler, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Advertised: ln.Addr().String(), Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named("kafka")}
	if set != nil {
		set(&opts)
	}
	h, err := New(context.Background(), b, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				h.HandleConn(ctx, nc)
			}()
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			ln.Close()
			<-done
			h.Close()
		})
	}
	t.Cleanup(stop)
	return ln.Addr().String(), h, stop
}

// newClient is a franz-go client of the gateway, closed with the test.
func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.FetchMaxWait(200 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// consume polls until n records arrived or the test context ends.
func consume(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, ctx.Err())
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s/%d: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	return out
}

func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// produceRecords sends one partition's records (encoded batches) with
// acks=all and returns the partition's answer.
func produceRecords(t *testing.T, cl *kgo.Client, topic string, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}
