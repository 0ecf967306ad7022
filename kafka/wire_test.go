package kafka

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawConn is a bare TCP connection speaking frames, for what clients
// hide: pipelining, ordering, acks=0, refusals.
type rawConn struct {
	t  *testing.T
	nc net.Conn
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t, nc}
}

func (c *rawConn) send(req kmsg.Request, version int16, correlation int32) {
	c.t.Helper()
	req.SetVersion(version)
	b := kmsg.NewRequestFormatter(kmsg.FormatterClientID("raw")).AppendRequest(nil, req, correlation)
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one response frame and returns its correlation id and body.
func (c *rawConn) recv() (int32, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return 0, nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.nc, b); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(b)), b[4:], nil
}

func fetchReq(topic string, wait int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = wait, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestPipelinedRequestsAnswerInOrder(t *testing.T) {
	addr := startGateway(t)
	createTopic(t, newClient(t, addr), "pipe", 1)
	c := dialRaw(t, addr)

	// Three long polls on an empty partition, then ApiVersions: the polls
	// wait together (not one after another) and answers keep request order.
	start := time.Now()
	for i := range int32(3) {
		c.send(fetchReq("pipe", 1000), 11, i)
	}
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 3)
	for want := range int32(4) {
		got, _, err := c.recv()
		if err != nil || got != want {
			t.Fatalf("answer %d: correlation %d, %v", want, got, err)
		}
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("three pipelined 1s long polls took %v: served one at a time", d)
	}
}

func TestAcksZeroGetsNoAnswer(t *testing.T) {
	addr := startGateway(t)
	createTopic(t, newClient(t, addr), "fire", 1)
	c := dialRaw(t, addr)
	produce := kmsg.NewPtrProduceRequest()
	produce.Acks, produce.TimeoutMillis = 0, 1000
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "fire", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: rawBatch(-1, -1, -1, "x")}}}}
	c.send(produce, 9, 1)
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 2)
	if got, _, err := c.recv(); err != nil || got != 2 {
		t.Fatalf("first answer: correlation %d, %v; want 2 (ApiVersions)", got, err)
	}
}

func TestRefusals(t *testing.T) {
	addr := startGateway(t)

	// An ApiVersions newer than ours is answered in v0 with our versions.
	c := dialRaw(t, addr)
	c.send(kmsg.NewPtrApiVersionsRequest(), 3, 7)
	// Rewrite the version field of a second request to 99.
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	b := kmsg.NewRequestFormatter().AppendRequest(nil, req, 8)
	binary.BigEndian.PutUint16(b[6:], 99)
	c.nc.Write(b)
	c.recv()
	corr, body, err := c.recv()
	if err != nil || corr != 8 {
		t.Fatalf("ApiVersions v99: correlation %d, %v", corr, err)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	if err := resp.ReadFrom(body); err != nil || resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) == 0 {
		t.Fatalf("ApiVersions v99 answer: %+v %v", resp, err)
	}
	for _, k := range resp.ApiKeys {
		// KIP-848 groups, and transactions beyond the classic protocol
		// (KIP-890's AddPartitionsToTxn v4, EndTxn v4+, Produce v12).
		if k.ApiKey == 68 || (k.ApiKey == 24 && k.MaxVersion > 3) || (k.ApiKey == 26 && k.MaxVersion > 3) || (k.ApiKey == 0 && k.MaxVersion > 11) {
			t.Fatalf("advertises API %d v%d", k.ApiKey, k.MaxVersion)
		}
	}

	// An unknown key, an unsupported version and an oversized frame close
	// the connection.
	for name, frame := range map[string][]byte{
		"unknown key": binary.BigEndian.AppendUint32([]byte{0, 0, 0, 8, 0x7f, 0x00, 0, 0}, 1),
		"old produce": func() []byte {
			p := kmsg.NewPtrProduceRequest()
			p.SetVersion(2)
			return kmsg.NewRequestFormatter().AppendRequest(nil, p, 1)
		}(),
		"huge frame": {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	} {
		c := dialRaw(t, addr)
		c.nc.Write(frame)
		if _, _, err := c.recv(); err == nil {
			t.Fatalf("%s: got an answer, want the connection closed", name)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: connection left open", name)
		}
	}
}
