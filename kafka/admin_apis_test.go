package kafka

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka-consumer-groups --delete-offsets: refused while a member consumes
// the topic, done once the group is empty.
func TestOffsetDelete(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "od", 1)
	produceN(t, cl, "od", 3)
	member := newClient(t, addr, kgo.ConsumerGroup("odg"), kgo.ConsumeTopics("od"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	consume(t, member, 3)
	if err := member.CommitUncommittedOffsets(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	del := func() error {
		t.Helper()
		res, err := adm.DeleteOffsets(testCtx(t), "odg", kadm.TopicsSet{"od": {0: {}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Error()
	}
	if err := del(); err != kerr.GroupSubscribedToTopic {
		t.Fatalf("delete offsets of a consumed topic: %v, want GROUP_SUBSCRIBED_TO_TOPIC", err)
	}
	member.Close()
	if err := del(); err != nil {
		t.Fatalf("delete offsets of an empty group: %v", err)
	}
	offs, err := adm.FetchOffsets(testCtx(t), "odg")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("od", 0); ok && o.At >= 0 {
		t.Fatalf("offset still committed after delete: %+v", o)
	}
}

func TestDescribeCluster(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if dc.ErrorCode != 0 || len(dc.Brokers) != 1 || len(md.Brokers) != 1 {
		t.Fatalf("DescribeCluster: error %d, %d brokers (Metadata: %d)", dc.ErrorCode, len(dc.Brokers), len(md.Brokers))
	}
	b, mb := dc.Brokers[0], md.Brokers[0]
	if b.NodeID != mb.NodeID || b.Host != mb.Host || b.Port != mb.Port || dc.ControllerID != md.ControllerID {
		t.Fatalf("DescribeCluster says broker %d %s:%d controller %d; Metadata says %d %s:%d controller %d",
			b.NodeID, b.Host, b.Port, dc.ControllerID, mb.NodeID, mb.Host, mb.Port, md.ControllerID)
	}
}

// kafka-log-dirs --describe: one log dir with every partition and its
// stored size; a topic list narrows it, unknown topics are left out.
func TestDescribeLogDirs(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	createTopic(t, cl, "ld", 2)
	var recs []*kgo.Record
	for range 3 {
		recs = append(recs, &kgo.Record{Topic: "ld", Partition: 1, Value: make([]byte, 100)})
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	sizes := func(topics []kmsg.DescribeLogDirsRequestTopic) map[int32]int64 {
		t.Helper()
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.Version, req.Topics = 4, topics
		// To the broker itself: kgo would first split it by partition
		// leader, and fail an unknown topic on its own.
		kresp, err := cl.SeedBrokers()[0].Request(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		resp := kresp.(*kmsg.DescribeLogDirsResponse)
		if resp.ErrorCode != 0 || len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 || resp.Dirs[0].Dir != "persistent://public/default" {
			t.Fatalf("DescribeLogDirs: %+v, want one dir persistent://public/default without error", resp)
		}
		got := map[int32]int64{}
		for _, tp := range resp.Dirs[0].Topics {
			if tp.Topic != "ld" {
				continue
			}
			for _, p := range tp.Partitions {
				got[p.Partition] = p.Size
			}
		}
		return got
	}
	all := sizes(nil)
	if len(all) != 2 || all[0] != 0 || all[1] < 300 {
		t.Fatalf("all partitions: sizes %v, want partition 0 empty and 1 at least 300 bytes", all)
	}
	one := sizes([]kmsg.DescribeLogDirsRequestTopic{{Topic: "ld", Partitions: []int32{1, 7}}, {Topic: "nope", Partitions: []int32{0}}})
	if len(one) != 1 || one[1] != all[1] {
		t.Fatalf("partition 1 (and 7, and topic nope, which do not exist): sizes %v, want only 1: %d", one, all[1])
	}
}

// kafka-topics --describe (Kafka 4's Admin.describeTopics): every
// partition led by this broker, empty ELRs, pages by the cursor; a named
// topic that does not exist is UNKNOWN_TOPIC_OR_PARTITION.
func TestDescribeTopicPartitions(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "dtp-a", 3)
	createTopic(t, cl, "dtp-b", 2)
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	node := md.Brokers[0].NodeID
	page := func(cursor *kmsg.DescribeTopicPartitionsRequestCursor, topics ...string) *kmsg.DescribeTopicPartitionsResponse {
		t.Helper()
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		req.ResponsePartitionLimit, req.Cursor = 2, cursor
		for _, name := range topics {
			req.Topics = append(req.Topics, kmsg.DescribeTopicPartitionsRequestTopic{Topic: name})
		}
		kresp, err := cl.SeedBrokers()[0].Request(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		return kresp.(*kmsg.DescribeTopicPartitionsResponse)
	}
	var got []string
	var cursor *kmsg.DescribeTopicPartitionsRequestCursor
	for pages := 0; ; pages++ {
		if pages == 3 {
			t.Fatalf("more than 3 pages of 2 for 5 partitions: %v", got)
		}
		resp := page(cursor, "dtp-b", "dtp-a")
		for _, tp := range resp.Topics {
			if tp.ErrorCode != 0 {
				t.Fatalf("%s: error %d", *tp.Topic, tp.ErrorCode)
			}
			for _, p := range tp.Partitions {
				if p.LeaderID != node || len(p.Replicas) != 1 || p.Replicas[0] != node || len(p.ISR) != 1 || p.ISR[0] != node ||
					p.EligibleLeaderReplicas == nil || len(p.EligibleLeaderReplicas) != 0 || p.LastKnownELR == nil {
					t.Fatalf("%s-%d: %+v, want led by %d alone with empty ELRs", *tp.Topic, p.Partition, p, node)
				}
				got = append(got, fmt.Sprintf("%s-%d", *tp.Topic, p.Partition))
			}
		}
		if resp.NextCursor == nil {
			break
		}
		cursor = &kmsg.DescribeTopicPartitionsRequestCursor{Topic: resp.NextCursor.Topic, Partition: resp.NextCursor.Partition}
	}
	if want := "[dtp-a-0 dtp-a-1 dtp-a-2 dtp-b-0 dtp-b-1]"; fmt.Sprint(got) != want {
		t.Fatalf("pages: %v, want %s", got, want)
	}
	resp := page(nil, "dtp-missing")
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("missing topic: %+v, want UNKNOWN_TOPIC_OR_PARTITION", resp.Topics)
	}
}
