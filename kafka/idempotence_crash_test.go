package kafka

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// crashableGateway serves Kafka on b whose producer table is never saved on
// its interval, and returns its address and a crash: the gateway stops as
// a SIGKILL inside the save interval leaves it, its last sequences unsaved.
func crashableGateway(t *testing.T, b bridge.Backend) (addr string, crash func()) {
	t.Helper()
	addr, h, stop := serveHandler(t, b, func(o *Options) { o.seqFlushEvery = time.Hour })
	var once sync.Once
	return addr, func() { once.Do(func() { h.pids.abandon(); stop() }) }
}

// initPID asks a gateway for a producer id.
func initPID(t *testing.T, cl *kgo.Client) *kmsg.InitProducerIDResponse {
	t.Helper()
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionTimeoutMillis = 60000
	ir, err := init.RequestWith(testCtx(t), cl)
	if err != nil || ir.ErrorCode != 0 || ir.ProducerID < 0 {
		t.Fatalf("InitProducerId: %+v %v", ir, err)
	}
	return ir
}

// endOffset is a partition's high watermark.
func endOffset(t *testing.T, cl *kgo.Client, topic string) int64 {
	t.Helper()
	resp, err := cl.Request(testCtx(t), listEnd(topic))
	if err != nil {
		t.Fatal(err)
	}
	return resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].Offset
}

// retryAfterCrash writes batches of one idempotent producer through
// gateway A, crashes A before it saves the producer's sequences, and sends
// the last two again (as a client retries batches in flight) through
// gateway B: B must answer them with their first offsets and store
// nothing, then take the next sequence.
func retryAfterCrash(t *testing.T, bA bridge.Backend, bB func() bridge.Backend) {
	topic := fmt.Sprintf("idem-crash-%d", time.Now().UnixNano())
	addrA, crash := crashableGateway(t, bA)
	clA := newClient(t, addrA)
	createTopic(t, clA, topic, 1)
	ir := initPID(t, clA)
	pid, epoch := ir.ProducerID, ir.ProducerEpoch
	// Another producer's records come between, as on a busy partition.
	other := initPID(t, clA)
	produce := func(cl *kgo.Client, pid int64, seq int32, values ...string) (int16, int64) {
		t.Helper()
		p := produceRecords(t, cl, topic, rawBatch(pid, epoch, seq, values...))
		return p.ErrorCode, p.BaseOffset
	}
	if code, off := produce(clA, pid, 0, "a", "b"); code != 0 || off != 0 {
		t.Fatalf("first batch: code %d offset %d", code, off)
	}
	if code, off := produce(clA, other.ProducerID, 0, "x"); code != 0 || off != 2 {
		t.Fatalf("other producer: code %d offset %d", code, off)
	}
	if code, off := produce(clA, pid, 2, "c", "d", "e"); code != 0 || off != 3 {
		t.Fatalf("second batch: code %d offset %d", code, off)
	}
	crash()

	clB := newClient(t, serveOn(t, bB()))
	if code, off := produce(clB, pid, 0, "a", "b"); code != 0 || off != 0 {
		t.Fatalf("retry of the first batch through B: code %d offset %d, want 0 at 0", code, off)
	}
	if code, off := produce(clB, pid, 2, "c", "d", "e"); code != 0 || off != 3 {
		t.Fatalf("retry of the second batch through B: code %d offset %d, want 0 at 3", code, off)
	}
	if end := endOffset(t, clB, topic); end != 6 {
		t.Fatalf("end offset %d after the retries, want 6: a retried batch was stored twice", end)
	}
	if code, off := produce(clB, pid, 5, "f"); code != 0 || off != 6 {
		t.Fatalf("next batch through B: code %d offset %d, want 0 at 6", code, off)
	}
	if code, off := produce(clB, other.ProducerID, 1, "y"); code != 0 || off != 7 {
		t.Fatalf("other producer through B: code %d offset %d, want 0 at 7", code, off)
	}
}

// Two gateways on one Pulsar; the first is killed inside the interval in
// which it saves producer sequences.
func TestIdempotentRetryAcrossGatewayCrash(t *testing.T) {
	bA := openPulsar(t)
	retryAfterCrash(t, bA, func() bridge.Backend { return openPulsar(t) })
}

// The embedded store is one gateway: a crash and a start on the same
// directory.
func TestIdempotentRetryAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	bA, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bA.Close() })
	retryAfterCrash(t, bA, func() bridge.Backend {
		bA.Close()
		bB, err := embedded.Open(embedded.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bB.Close() })
		return bB
	})
}
