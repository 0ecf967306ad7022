package kafka

import (
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawFetch sends one Fetch v12 on nc and decodes the answer.
func rawFetch(t *testing.T, nc net.Conn, corr int32, req *kmsg.FetchRequest) *kmsg.FetchResponse {
	t.Helper()
	req.SetVersion(12)
	var f kmsg.RequestFormatter
	if _, err := nc.Write(f.AppendRequest(nil, req, corr)); err != nil {
		t.Fatal(err)
	}
	body := readResponse(t, nc)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	// Correlation id, then the flexible header's empty tag section.
	if err := resp.ReadFrom(body[5:]); err != nil {
		t.Fatalf("decode Fetch answer: %v", err)
	}
	return resp
}

func fetchTopic(topic string, offsets ...int64) kmsg.FetchRequestTopic {
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	for p, o := range offsets {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = int32(p), o, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
	}
	return ft
}

func answered(resp *kmsg.FetchResponse) map[int32]int64 {
	out := map[int32]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[p.Partition] = p.HighWatermark
		}
	}
	return out
}

// A session's later Fetches name nothing and get only the partitions with
// news; a wrong epoch or an unknown session is refused as Kafka refuses it.
func TestFetchSessions(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "fs", 2)
	produce := func(p int32) {
		r := &kgo.Record{Topic: "fs", Partition: p, Value: []byte("x")}
		if err := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner())).ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0)
	produce(1)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))

	full := kmsg.NewPtrFetchRequest()
	full.SessionEpoch = 0
	full.Topics = []kmsg.FetchRequestTopic{fetchTopic("fs", 1, 1)}
	resp := rawFetch(t, nc, 1, full)
	if resp.ErrorCode != 0 || resp.SessionID == 0 {
		t.Fatalf("opening Fetch: error %d, session %d; want a session", resp.ErrorCode, resp.SessionID)
	}
	if got := answered(resp); len(got) != 2 {
		t.Fatalf("opening Fetch answered %v, want both partitions", got)
	}

	// Nothing changed: an incremental Fetch answers no partition.
	inc := kmsg.NewPtrFetchRequest()
	inc.SessionID, inc.SessionEpoch = resp.SessionID, 1
	if got := answered(rawFetch(t, nc, 2, inc)); len(got) != 0 {
		t.Fatalf("incremental Fetch with no news answered %v", got)
	}

	// Partition 1 gets a record: only it is answered, with it.
	produce(1)
	inc.SessionEpoch = 2
	r3 := rawFetch(t, nc, 3, inc)
	got := answered(r3)
	if len(got) != 1 || got[1] != 2 || len(r3.Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("incremental Fetch after a produce to partition 1 answered %v, want only partition 1 (hw 2) with records", got)
	}

	// Forgetting partition 1 leaves only partition 0 in the session.
	inc.SessionEpoch = 3
	fg := kmsg.NewFetchRequestForgottenTopic()
	fg.Topic, fg.Partitions = "fs", []int32{1}
	inc.ForgottenTopics = []kmsg.FetchRequestForgottenTopic{fg}
	rawFetch(t, nc, 4, inc)
	inc.ForgottenTopics = nil
	produce(0)
	produce(1)
	inc.SessionEpoch = 4
	if got := answered(rawFetch(t, nc, 5, inc)); len(got) != 1 || got[0] != 2 {
		t.Fatalf("after forgetting partition 1 answered %v, want only partition 0", got)
	}

	inc.SessionEpoch = 9
	if code := rawFetch(t, nc, 6, inc).ErrorCode; code != kerr.InvalidFetchSessionEpoch.Code {
		t.Fatalf("wrong epoch: error %d, want INVALID_FETCH_SESSION_EPOCH", code)
	}
	inc.SessionID, inc.SessionEpoch = resp.SessionID+1000, 1
	if code := rawFetch(t, nc, 7, inc).ErrorCode; code != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: error %d, want FETCH_SESSION_ID_NOT_FOUND", code)
	}
}
