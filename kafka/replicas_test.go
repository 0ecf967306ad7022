package kafka

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Two gateways on one backend, each at its own address, share everything
// that matters to a client: records, committed offsets and idempotent
// producers' sequences.
func TestTwoGatewaysShareState(t *testing.T) {
	addrA, b := startGatewayBackend(t)
	addrB := serveOn(t, b)
	a, bcl := newClient(t, addrA), newClient(t, addrB)
	createTopic(t, a, "shared", 1)

	// An idempotent producer writes through A, then retries through B.
	init := kmsg.NewPtrInitProducerIDRequest()
	ir, err := init.RequestWith(testCtx(t), a)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", ir, err)
	}
	produce := func(cl *kgo.Client, seq int32, values ...string) int16 {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		req.Topics = []kmsg.ProduceRequestTopic{{Topic: "shared", Partitions: []kmsg.ProduceRequestTopicPartition{
			{Records: rawBatch(ir.ProducerID, ir.ProducerEpoch, seq, values...)},
		}}}
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	if code := produce(a, 0, "a", "b"); code != 0 {
		t.Fatalf("produce via A: %d", code)
	}
	time.Sleep(2 * seqFlushInterval)
	// B finds the batch in the partition: answered as the original
	// (Kafka's answer to a duplicate it still describes), not stored.
	if code := produce(bcl, 0, "a", "b"); code != 0 {
		t.Fatalf("retry via B: code %d, want 0", code)
	}
	if code := produce(bcl, 2, "c"); code != 0 {
		t.Fatalf("next batch via B: code %d", code)
	}

	// B serves what A wrote, at the same offsets.
	cons := newClient(t, addrB, kgo.ConsumeTopics("shared"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, cons, 3)
	for i, want := range []string{"a", "b", "c"} {
		if string(got[i].Value) != want || got[i].Offset != int64(i) {
			t.Fatalf("record %d: %q at %d", i, got[i].Value, got[i].Offset)
		}
	}

	// An offset committed through A is read through B.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "shared", Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := kadm.NewClient(a).CommitOffsets(testCtx(t), "shared-group", offs); err != nil {
		t.Fatal(err)
	}
	fetched, err := kadm.NewClient(bcl).FetchOffsets(testCtx(t), "shared-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("shared", 0); !ok || o.At != 2 {
		t.Fatalf("offset via B: %+v", o)
	}

}

// proxy is one address in front of several gateways: each new connection
// goes to the next gateway in turn, as a round-robin load balancer does.
func proxy(t *testing.T) (addr string, behind func(...string)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var targets []string
	n := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			target := targets[n%len(targets)]
			n++
			mu.Unlock()
			go func() {
				defer c.Close()
				g, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer g.Close()
				go io.Copy(g, c)
				io.Copy(c, g)
			}()
		}
	}()
	return ln.Addr().String(), func(addrs ...string) {
		mu.Lock()
		targets = addrs
		mu.Unlock()
	}
}

// Two gateways behind one address answer as one broker: a client whose
// connections land on either sees the same broker, controller and
// coordinator, at that address, and its records on both.
func TestReplicasBehindOneAddress(t *testing.T) {
	front, behind := proxy(t)
	_, b := startGatewayBackend(t)
	advertise := func(o *Options) { o.Advertised = front }
	behind(serveWith(t, b, advertise), serveWith(t, b, advertise))

	host, port, _ := net.SplitHostPort(front)
	var first *kmsg.MetadataResponse
	var coordinator int32
	for i := range 4 { // connections alternate between the two gateways
		c := dialRaw(t, front)
		c.send(kmsg.NewPtrMetadataRequest(), 12, 1)
		_, body, err := c.recv()
		if err != nil {
			t.Fatal(err)
		}
		m := kmsg.NewPtrMetadataResponse()
		m.Version = 12
		if err := m.ReadFrom(body[1:]); err != nil { // flexible: header tags
			t.Fatal(err)
		}
		if len(m.Brokers) != 1 || m.Brokers[0].Host != host || fmt.Sprint(m.Brokers[0].Port) != port ||
			m.ControllerID != m.Brokers[0].NodeID {
			t.Fatalf("connection %d: brokers %+v controller %d, want one broker at %s, the controller", i, m.Brokers, m.ControllerID, front)
		}
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = "g"
		c.send(fc, 3, 2)
		_, body, err = c.recv()
		if err != nil {
			t.Fatal(err)
		}
		f := kmsg.NewPtrFindCoordinatorResponse()
		f.Version = 3
		if err := f.ReadFrom(body[1:]); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first, coordinator = m, f.NodeID
		}
		if m.Brokers[0].NodeID != first.Brokers[0].NodeID || f.NodeID != coordinator || f.NodeID != m.Brokers[0].NodeID {
			t.Fatalf("connection %d: broker %d coordinator %d, connection 0: broker %d coordinator %d",
				i, m.Brokers[0].NodeID, f.NodeID, first.Brokers[0].NodeID, coordinator)
		}
	}

	// A client through the one address: what it writes it reads back.
	cl := newClient(t, front)
	createTopic(t, cl, "behind", 2)
	produceN(t, cl, "behind", 10)
	cons := newClient(t, front, kgo.ConsumeTopics("behind"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if got := consume(t, cons, 10); len(got) != 10 {
		t.Fatalf("read back %d records through %s, want 10", len(got), front)
	}
}
