package pulsar_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// restartBroker runs integration/pulsar/standalone.sh with a broker of the
// test's own (ports 6660/8090, its own data folder), so stopping it does
// not disturb other tests.
type restartBroker struct {
	t   *testing.T
	env []string
}

func (rb *restartBroker) run(args ...string) {
	rb.t.Helper()
	script, err := filepath.Abs("../../integration/pulsar/standalone.sh")
	if err != nil {
		rb.t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), rb.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		rb.t.Fatalf("standalone.sh %v: %v\n%s", args, err, out)
	}
	rb.t.Logf("standalone.sh %v: %s", args, out)
}

// TestBrokerRestart: a producer sends continuously and a consumer receives
// and acks while the broker stops and starts again. During the outage
// callers wait or get retriable errors (bridge.ErrUnavailable), never a
// success for a message that is not stored; afterwards both resume on their
// own, and every message whose callback reported success is readable at
// its reported index with its value.
//
// It runs only with PULSAR_RESTART_TEST=1 (scripts/test.sh sets it): it
// starts its own broker on ports 6660/8090 (PULSAR_RESTART_PORT and
// PULSAR_RESTART_HTTP_PORT change them) with data in
// PULSAR_RESTART_DATA (default /tmp/pgw-restart).
func TestBrokerRestart(t *testing.T) {
	if os.Getenv("PULSAR_RESTART_TEST") != "1" {
		t.Skip("PULSAR_RESTART_TEST=1 runs this (it stops and starts a broker of its own)")
	}
	port, httpPort := envOr("PULSAR_RESTART_PORT", "6660"), envOr("PULSAR_RESTART_HTTP_PORT", "8090")
	rb := &restartBroker{t: t, env: []string{"PULSAR_DATA=" + envOr("PULSAR_RESTART_DATA", "/tmp/pgw-restart"),
		"PULSAR_PORT=" + port, "PULSAR_HTTP_PORT=" + httpPort}}
	rb.run("start", "--fresh")
	t.Cleanup(func() { rb.run("stop") })

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	be, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: "pulsar://127.0.0.1:" + port,
		AdminURL: "http://127.0.0.1:" + httpPort, OperationTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	const parts = 2
	topic := fmt.Sprintf("persistent://public/default/restart-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, parts); err != nil {
		t.Fatal(err)
	}
	p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: topic, MaxPending: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Batches too (as the Kafka handler sends them): entries the gateway
	// builds, through its own connection to partition 0's broker.
	pb, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName(topic, 0), MaxPending: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	cons, err := be.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{topic}, Subscription: "restart",
		Type: bridge.Shared, InitialPosition: bridge.Earliest})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()

	type at struct {
		partition int
		index     int64
	}
	var (
		mu        sync.Mutex
		acked     = map[string]at{} // value → where its callback said it is
		failed    int
		badErrs   []error
		received  = map[string]bool{}
		phase     atomic.Int32 // 0 before the stop, 1 during the outage, 2 after the restart
		ackedLate atomic.Int64 // acknowledged sends whose callback fired after the restart
		rcvdLate  atomic.Int64 // messages received after the restart
	)
	retriable := func(err error) bool {
		return errors.Is(err, bridge.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
	}

	const produceAfter = 10 * time.Second
	var restarted atomic.Pointer[time.Time]
	var wg sync.WaitGroup
	wg.Add(3)
	prodDone := make(chan struct{})
	go func() { // producer
		defer wg.Done()
		defer close(prodDone)
		// Bounded: until produceAfter past the restart, at most 3 minutes.
		end := time.Now().Add(3 * time.Minute)
		for i := 0; time.Now().Before(end); i++ {
			if r := restarted.Load(); r != nil && time.Since(*r) > produceAfter {
				break
			}
			v := "m" + strconv.Itoa(i)
			sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
			p.SendAsync(sctx, &bridge.OutMessage{Key: []byte("k" + strconv.Itoa(i%7)), Value: []byte(v)},
				func(r bridge.SendResult, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed++
						if !retriable(err) {
							badErrs = append(badErrs, fmt.Errorf("send %s: %w", v, err))
						}
						return
					}
					acked[v] = at{r.Partition, r.Index}
					if phase.Load() == 2 {
						ackedLate.Add(1)
					}
				})
			scancel()
			if i%20 == 19 {
				batch := make([]bridge.OutMessage, 5)
				for j := range batch {
					batch[j] = bridge.OutMessage{Value: []byte(fmt.Sprintf("b%d-%d", i, j))}
				}
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				pb.(bridge.BatchProducer).SendBatch(sctx, batch, func(r bridge.SendResult, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed += len(batch)
						if !retriable(err) {
							badErrs = append(badErrs, fmt.Errorf("send batch %d: %w", i, err))
						}
						return
					}
					for j := range batch {
						acked[string(batch[j].Value)] = at{0, r.Index + int64(j)}
					}
					if phase.Load() == 2 {
						ackedLate.Add(1)
					}
				})
				scancel()
				time.Sleep(5 * time.Millisecond)
			}
		}
		fctx, fcancel := context.WithTimeout(ctx, time.Minute)
		defer fcancel()
		if err := p.Flush(fctx); err != nil {
			t.Errorf("flush after the restart: %v", err)
		}
		if err := pb.Flush(fctx); err != nil {
			t.Errorf("flush of batches after the restart: %v", err)
		}
	}()
	consumeDone := make(chan struct{})
	// A reader of partition 0 that decodes entries itself (as Kafka
	// Fetches read) reads through the outage and reconnects on its own.
	er, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: bridge.PartitionName(topic, 0),
		Start: bridge.StartEarliest(), Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	defer er.Close()
	// A message can be stored twice: a send the broker persisted but whose
	// receipt the restart cut is sent again (no broker deduplication), so
	// every index a value was read at is kept.
	readByEntries := map[string][]int64{}
	go func() {
		defer wg.Done()
		last := int64(-1)
		for {
			select {
			case <-consumeDone:
				return
			default:
			}
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			ms, err := er.(bridge.BatchReader).NextBatch(rctx)
			rcancel()
			if err != nil {
				if !retriable(err) {
					mu.Lock()
					badErrs = append(badErrs, fmt.Errorf("entry reader: %w", err))
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			mu.Lock()
			for _, m := range ms {
				if m.Index <= last {
					badErrs = append(badErrs, fmt.Errorf("entry reader: index %d after %d", m.Index, last))
				}
				last = m.Index
				readByEntries[string(m.Value)] = append(readByEntries[string(m.Value)], m.Index)
			}
			mu.Unlock()
		}
	}()
	go func() { // consumer: until told to stop
		defer wg.Done()
		for {
			select {
			case <-consumeDone:
				return
			default:
			}
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			m, err := cons.Receive(rctx)
			rcancel()
			if err != nil {
				if !retriable(err) {
					mu.Lock()
					badErrs = append(badErrs, fmt.Errorf("receive: %w", err))
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
				continue
			}
			if err := cons.Ack(m.ID); err != nil && !retriable(err) {
				mu.Lock()
				badErrs = append(badErrs, fmt.Errorf("ack: %w", err))
				mu.Unlock()
			}
			mu.Lock()
			received[string(m.Value)] = true
			mu.Unlock()
			if phase.Load() == 2 {
				rcvdLate.Add(1)
			}
		}
	}()

	time.Sleep(5 * time.Second)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	phase.Store(1)
	rb.run("stop")
	time.Sleep(3 * time.Second)
	rb.run("start")
	now := time.Now()
	restarted.Store(&now)
	phase.Store(2)
	t.Logf("acknowledged before the stop: %d", before)

	// Wait for the producer, then for the consumer to catch up.
	<-prodDone
	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for v, a := range acked {
			if !received[v] {
				missing++
			}
			if _, ok := readByEntries[v]; a.partition == 0 && !ok {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("consumer still misses %d acknowledged messages", missing)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(consumeDone)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledged %d, failed %d, received %d; after the restart: acknowledged %d, received %d",
		len(acked), failed, len(received), ackedLate.Load(), rcvdLate.Load())
	for _, err := range badErrs {
		t.Errorf("not retriable: %v", err)
	}
	if ackedLate.Load() == 0 {
		t.Errorf("production did not resume after the restart")
	}
	if rcvdLate.Load() == 0 {
		t.Errorf("consumption did not resume after the restart")
	}

	// Every acknowledged message is stored at its index.
	byIndex := make([]map[int64]string, parts)
	for part := range parts {
		byIndex[part] = map[int64]string{}
		pname := bridge.PartitionName(topic, part)
		rng, err := be.Admin().IndexRange(ctx, pname)
		if err != nil {
			t.Fatal(err)
		}
		r, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: pname, Start: bridge.StartEarliest()})
		if err != nil {
			t.Fatal(err)
		}
		prev := rng.First - 1
		for prev < rng.Next-1 {
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := r.Next(rctx)
			rcancel()
			if err != nil {
				t.Fatalf("read %s after index %d of [%d,%d): %v", pname, prev, rng.First, rng.Next, err)
			}
			if m.Index <= prev {
				t.Errorf("read %s: index %d follows %d", pname, m.Index, prev)
			} else if m.Index != prev+1 {
				// Pulsar 4.0.7 skips indexes across a broker restart: the
				// AppendIndexMetadataInterceptor counted the adds that were
				// pending (and failed) at shutdown. Not a loss; logged.
				t.Logf("read %s: index %d follows %d (broker skipped %d indexes)", pname, m.Index, prev, m.Index-prev-1)
			}
			prev = m.Index
			byIndex[part][m.Index] = string(m.Value)
		}
		r.Close()
	}
	dups := 0
	for v, a := range acked {
		if a.partition != 0 {
			continue
		}
		ixs := readByEntries[v]
		if !slices.Contains(ixs, a.index) {
			t.Errorf("entry reader: acknowledged %s at index %d, read at %v", v, a.index, ixs)
			break
		}
		dups += len(ixs) - 1
	}
	if dups > 0 {
		t.Logf("entry reader: %d messages stored again by resends across the restart", dups)
	}
	lost := 0
	for v, a := range acked {
		if got, ok := byIndex[a.partition][a.index]; !ok || got != v {
			if lost < 10 {
				t.Errorf("acknowledged %s at %d/%d: stored %q (present %v)", v, a.partition, a.index, got, ok)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged messages are not at their index", lost, len(acked))
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
