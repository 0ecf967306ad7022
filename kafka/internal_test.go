package kafka

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataOf asks for every topic (names nil) or the named ones, without
// auto-creation unless create.
func metadataOf(t *testing.T, cl *kgo.Client, create bool, names ...string) map[string]kmsg.MetadataResponseTopic {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = create
	if names != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
		for _, n := range names {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(n)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]kmsg.MetadataResponseTopic{}
	for _, tp := range resp.Topics {
		out[*tp.Topic] = tp
	}
	return out
}

// TestInternalOffsetsTopic: __consumer_offsets appears, flagged internal,
// once a group exists, and is refused to writers as Kafka refuses it.
func TestInternalOffsetsTopic(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "orders", 1)

	// No group yet: not listed, and asking for it by name (even with
	// auto-creation) does not make it a topic.
	if _, ok := metadataOf(t, cl, false)[offsetsTopic]; ok {
		t.Fatalf("%s listed before any group exists", offsetsTopic)
	}
	if tp := metadataOf(t, cl, true, offsetsTopic)[offsetsTopic]; tp.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("%s by name before any group: error %d, want UNKNOWN_TOPIC_OR_PARTITION", offsetsTopic, tp.ErrorCode)
	}
	if _, ok := metadataOf(t, cl, false)[offsetsTopic]; ok {
		t.Fatalf("asking for %s by name created it", offsetsTopic)
	}

	// A group commits.
	produceN(t, cl, "orders", 2)
	g := newClient(t, addr, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("orders"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	recs := consume(t, g, 2)
	if err := g.CommitRecords(testCtx(t), recs...); err != nil {
		t.Fatal(err)
	}

	for name, md := range map[string]map[string]kmsg.MetadataResponseTopic{
		"all topics": metadataOf(t, cl, false),
		"by name":    metadataOf(t, cl, false, offsetsTopic),
	} {
		tp, ok := md[offsetsTopic]
		if !ok || tp.ErrorCode != 0 || !tp.IsInternal || len(tp.Partitions) != offsetsTopicPartitions {
			t.Fatalf("%s: %s: listed %v error %d internal %v partitions %d, want listed, internal, %d partitions",
				name, offsetsTopic, ok, tp.ErrorCode, tp.IsInternal, len(tp.Partitions), offsetsTopicPartitions)
		}
		if o := md["orders"]; name == "all topics" && o.IsInternal {
			t.Fatalf("orders flagged internal")
		}
	}

	// Produce: Kafka's "Cannot append to internal topic".
	res := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: offsetsTopic, Partition: 0, Value: []byte("x")})
	if err := res.FirstErr(); !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to %s: %v, want INVALID_TOPIC_EXCEPTION", offsetsTopic, err)
	}

	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(testCtx(t), 1, 1, nil, offsetsTopic); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create %s: %v, want TOPIC_ALREADY_EXISTS", offsetsTopic, err)
	}
	if _, err := adm.DeleteTopic(testCtx(t), offsetsTopic); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("delete %s: %v, want TOPIC_AUTHORIZATION_FAILED", offsetsTopic, err)
	}
	if rs, err := adm.CreatePartitions(testCtx(t), 60, offsetsTopic); err != nil || !errors.Is(rs[offsetsTopic].Err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("add partitions to %s: %v %v, want TOPIC_AUTHORIZATION_FAILED", offsetsTopic, err, rs[offsetsTopic].Err)
	}
	rc, err := adm.DescribeTopicConfigs(testCtx(t), offsetsTopic)
	if c, cerr := rc.On(offsetsTopic, nil); err != nil || cerr != nil || c.Err != nil {
		t.Fatalf("configs of %s: %v %v", offsetsTopic, err, cerr)
	} else if !slices.ContainsFunc(c.Configs, func(c kadm.Config) bool {
		return c.Key == "cleanup.policy" && c.Value != nil && *c.Value == "compact"
	}) {
		t.Fatalf("configs of %s: %+v, want cleanup.policy=compact", offsetsTopic, c.Configs)
	}
	// The group's offsets survived the refused delete.
	offs, err := adm.FetchOffsets(testCtx(t), "g")
	if o, _ := offs.Lookup("orders", 0); err != nil || o.At != 2 {
		t.Fatalf("committed offset after the delete: %+v %v, want orders/0 at 2", o, err)
	}

	// Reading it is refused, and does not hurt the gateway.
	rd := newClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{offsetsTopic: {0: kgo.NewOffset().AtStart()}}))
	fs := rd.PollFetches(testCtx(t))
	if errs := fs.Errors(); len(errs) == 0 || !errors.Is(errs[0].Err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("fetch of %s: %v, want TOPIC_AUTHORIZATION_FAILED", offsetsTopic, errs)
	}
	if _, ok := metadataOf(t, cl, false)["orders"]; !ok {
		t.Fatal("gateway lost after reading the internal topic")
	}
}

// TestInternalTopicSkippedByRegex: a client consuming by pattern skips a
// topic flagged internal, so ".*" reads the user's topics and no error.
func TestInternalTopicSkippedByRegex(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "events", 1)
	produceN(t, cl, "events", 1)
	g := newClient(t, addr, kgo.ConsumerGroup("first"), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err := g.CommitRecords(testCtx(t), consume(t, g, 1)...); err != nil {
		t.Fatal(err)
	}

	re := newClient(t, addr, kgo.ConsumerGroup("regex"), kgo.ConsumeRegex(), kgo.ConsumeTopics(".*"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(100*time.Millisecond))
	ctx := testCtx(t)
	var got []string
	for len(got) == 0 {
		fs := re.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("nothing consumed by pattern")
		}
		for _, e := range fs.Errors() {
			t.Fatalf("pattern consumer: %s: %v", e.Topic, e.Err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Topic) })
	}
	if topics := re.GetConsumeTopics(); slices.Contains(topics, offsetsTopic) || !slices.Contains(topics, "events") {
		t.Fatalf("pattern consumer takes %v, want events and not %s", topics, offsetsTopic)
	}
}
