package kafka_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// gateway is one run of the built binary on a fixed port and data dir, so a
// restart serves the same address and data.
type gateway struct {
	t       *testing.T
	backend string
	addr    string
	dataDir string
	cmd     *exec.Cmd
}

func newGateway(t *testing.T, backend string) *gateway {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	g := &gateway{t: t, backend: backend, addr: addr, dataDir: filepath.Join(t.TempDir(), "data")}
	g.start()
	t.Cleanup(func() {
		if g.cmd != nil {
			g.cmd.Process.Kill()
			g.cmd.Wait()
		}
	})
	return g
}

func (g *gateway) start() {
	t := g.t
	t.Helper()
	args := []string{"--kafka-addr", g.addr, "--mqtt-enabled=false", "--amqp-enabled=false",
		"--http-enabled=false", "--schema-registry-enabled=false", "--log-format", "json", "--log-level", "warn", "--backend", g.backend}
	if g.backend == "pulsar" {
		args = append(args, "--pulsar-url", os.Getenv("PULSAR_URL"), "--pulsar-admin-url", os.Getenv("PULSAR_ADMIN_URL"))
	} else {
		args = append(args, "--data-dir", g.dataDir)
	}
	g.cmd = exec.Command(gatewayBinary(t), args...)
	g.cmd.Stderr = &testWriter{t: t}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", g.addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway did not listen on " + g.addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop is a graceful stop (SIGTERM), as an operator's restart would be.
func (g *gateway) stop() {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		g.cmd.Process.Kill()
		<-done
		g.t.Error("gateway did not stop within 30s of SIGTERM")
	}
	g.cmd = nil
}

type testWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("gateway: %s", p)
	return len(p), nil
}

func kclient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.FetchMaxWait(250 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func createTopic(t *testing.T, addr, topic string, partitions int32) {
	t.Helper()
	cl := kclient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// produceN writes values prefix0..prefixN-1 round-robin over the partitions.
func produceN(t *testing.T, addr, topic, prefix string, n int) {
	t.Helper()
	cl := kclient(t, addr, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Value: []byte(prefix + strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestConsumerGroupRebalance: three members share six partitions; one
// leaves, one joins, and across the rebalances every record is processed
// exactly once (process, commit, then allow the rebalance).
func TestConsumerGroupRebalance(t *testing.T) {
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic, group := "grp"+suffix, "grp-g"+suffix
		const n = 3000
		createTopic(t, addr, topic, 6)
		produceN(t, addr, topic, "v", n)

		var mu sync.Mutex
		seen := map[string]int{}
		total := 0
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()

		type member struct {
			cl   *kgo.Client
			quit chan struct{}
			done chan struct{}
		}
		startMember := func() *member {
			m := &member{quit: make(chan struct{}), done: make(chan struct{})}
			m.cl = kclient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
				kgo.BlockRebalanceOnPoll())
			go func() {
				defer close(m.done)
				for {
					select {
					case <-m.quit:
						return
					default:
					}
					pctx, pcancel := context.WithTimeout(ctx, 500*time.Millisecond)
					fs := m.cl.PollRecords(pctx, 50)
					pcancel()
					recs := fs.Records()
					mu.Lock()
					for _, r := range recs {
						seen[string(r.Value)]++
						total++
					}
					mu.Unlock()
					if len(recs) > 0 {
						if err := m.cl.CommitRecords(ctx, recs...); err != nil {
							t.Errorf("commit: %v", err)
						}
					}
					m.cl.AllowRebalance()
					time.Sleep(5 * time.Millisecond) // let every member get a share
				}
			}()
			return m
		}
		stopMember := func(m *member) {
			close(m.quit)
			<-m.done
			m.cl.Close() // leaves the group
		}
		waitTotal := func(want int) {
			for {
				mu.Lock()
				got := total
				mu.Unlock()
				if got >= want {
					return
				}
				if ctx.Err() != nil {
					t.Fatalf("consumed %d, waiting for %d: %v", got, want, ctx.Err())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		members := []*member{startMember(), startMember(), startMember()}
		waitTotal(n / 3)
		stopMember(members[0])
		waitTotal(n / 2)
		members[0] = startMember()
		waitTotal(n)
		time.Sleep(time.Second) // a duplicate would arrive now
		for _, m := range members {
			stopMember(m)
		}
		mu.Lock()
		defer mu.Unlock()
		if total != n || len(seen) != n {
			t.Errorf("read %d records, %d distinct; want %d of each", total, len(seen), n)
		}
		for v, c := range seen {
			if c != 1 {
				t.Errorf("%s read %d times", v, c)
			}
		}
	})
}

// TestRestartResumesAtCommit: a group commits part of a topic, the gateway
// is stopped and started again on the same data (the same broker for
// Pulsar), and the group continues exactly at the committed offset.
func TestRestartResumesAtCommit(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			g := newGateway(t, backend)
			suffix := fmt.Sprintf("-%x", time.Now().UnixNano())
			topic, group := "restart"+suffix, "restart-g"+suffix
			const n, first = 1000, 400
			createTopic(t, g.addr, topic, 1)
			produceN(t, g.addr, topic, "r", n)

			consume := func(max int) []*kgo.Record {
				cl := kclient(t, g.addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
				defer cl.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				var got []*kgo.Record
				for len(got) < max {
					fs := cl.PollRecords(ctx, max-len(got))
					if ctx.Err() != nil {
						t.Fatalf("read %d of %d: %v", len(got), max, ctx.Err())
					}
					got = append(got, fs.Records()...)
				}
				if err := cl.CommitRecords(ctx, got...); err != nil {
					t.Fatal(err)
				}
				return got
			}
			before := consume(first)
			g.stop()
			g.start()
			after := consume(n - first)
			if before[len(before)-1].Offset != first-1 || after[0].Offset != first {
				t.Errorf("before restart read up to offset %d, after restart from %d; want %d then %d",
					before[len(before)-1].Offset, after[0].Offset, first-1, first)
			}
			for i, r := range after {
				if want := "r" + strconv.Itoa(first+i); string(r.Value) != want {
					t.Fatalf("after restart record %d = %q, want %q", i, r.Value, want)
				}
			}
		})
	}
}

// TestListOffsetsByTimestamp: ListOffsets with a timestamp answers the
// first offset stored at or after it, and -1 (or the end) past the last.
// The backends index the time a record was stored (Pulsar's publish time),
// not the producer's CreateTime: records here carry the current time, as
// most producers' records do, and batches are spaced so that a time between
// two batches has one right answer.
func TestListOffsetsByTimestamp(t *testing.T) {
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic := "ts" + suffix
		createTopic(t, addr, topic, 1)
		cl := kclient(t, addr, kgo.DefaultProduceTopic(topic))
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var before []time.Time // just before batch i (offsets 3i..3i+2)
		for i := range 4 {
			time.Sleep(50 * time.Millisecond)
			before = append(before, time.Now())
			time.Sleep(50 * time.Millisecond)
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}, &kgo.Record{Value: []byte{byte(i)}},
				&kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(100 * time.Millisecond)
		after := time.Now()
		adm := kadm.NewClient(cl)
		lookup := func(at time.Time) int64 {
			res, err := adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), topic)
			if err != nil {
				t.Fatal(err)
			}
			o, ok := res.Lookup(topic, 0)
			if !ok || o.Err != nil {
				t.Fatalf("at %v: %+v %v", at, o, ok)
			}
			return o.Offset
		}
		if got := lookup(before[0].Add(-time.Hour)); got != 0 {
			t.Errorf("an hour before the first record: offset %d, want 0", got)
		}
		for i, at := range before {
			if got := lookup(at); got != int64(3*i) {
				t.Errorf("just before batch %d: offset %d, want %d", i, got, 3*i)
			}
		}
		// Kafka answers -1 past the last timestamp; kadm may map it to the end.
		if got := lookup(after); got != -1 && got != 12 {
			t.Errorf("after the last record: offset %d, want -1 or the end (12)", got)
		}
	})
}

// TestPulsarProducerInterop: a Kafka producer and a native Pulsar producer
// write to the same topic; a Kafka consumer reads both, with the Pulsar
// message's key, properties (headers) and event time (timestamp).
func TestPulsarProducerInterop(t *testing.T) {
	if os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "" {
		t.Skip("PULSAR_URL and PULSAR_ADMIN_URL not set")
	}
	addr := startGateway(t, "pulsar")
	topic := fmt.Sprintf("interop-%x", time.Now().UnixNano())
	createTopic(t, addr, topic, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	kts := time.Now().Add(-2 * time.Minute).Truncate(time.Millisecond)
	kp := kclient(t, addr, kgo.DefaultProduceTopic(topic))
	defer kp.Close()
	if err := kp.ProduceSync(ctx, &kgo.Record{Key: []byte("k1"), Value: []byte("from-kafka"), Timestamp: kts,
		Headers: []kgo.RecordHeader{{Key: "via", Value: []byte("kafka")}}}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	pc, err := pulsar.NewClient(pulsar.ClientOptions{URL: os.Getenv("PULSAR_URL"), Logger: plog.DefaultNopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pp, err := pc.CreateProducer(pulsar.ProducerOptions{Topic: "persistent://public/default/" + topic})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	pts := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if _, err := pp.Send(ctx, &pulsar.ProducerMessage{Key: "k2", Payload: []byte("from-pulsar"), EventTime: pts,
		Properties: map[string]string{"via": "pulsar", "trace": "t-1"}}); err != nil {
		t.Fatal(err)
	}

	kc := kclient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer kc.Close()
	var recs []*kgo.Record
	for len(recs) < 2 {
		fs := kc.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 2: %v", len(recs), ctx.Err())
		}
		recs = append(recs, fs.Records()...)
	}
	headers := func(r *kgo.Record) map[string]string {
		m := map[string]string{}
		for _, h := range r.Headers {
			m[h.Key] = string(h.Value)
		}
		return m
	}
	k, p := recs[0], recs[1]
	if string(k.Key) != "k1" || string(k.Value) != "from-kafka" || !k.Timestamp.Equal(kts) || headers(k)["via"] != "kafka" {
		t.Errorf("Kafka record read back as key %q value %q ts %v headers %v", k.Key, k.Value, k.Timestamp, headers(k))
	}
	if string(p.Key) != "k2" || string(p.Value) != "from-pulsar" || !p.Timestamp.Equal(pts) ||
		headers(p)["via"] != "pulsar" || headers(p)["trace"] != "t-1" {
		t.Errorf("Pulsar message read as key %q value %q ts %v (want %v) headers %v", p.Key, p.Value, p.Timestamp, pts, headers(p))
	}
	if p.Offset != k.Offset+1 {
		t.Errorf("offsets %d then %d, want consecutive", k.Offset, p.Offset)
	}
}
