package kafka

import (
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
