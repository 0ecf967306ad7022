package kafka

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describe returns a topic's described configs by name, with their source.
func describeTopic(t *testing.T, adm *kadm.Client, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe %s: %v %v", topic, err, rc.Err)
	}
	out := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		out[c.Key] = c
	}
	return out
}

func wantConfig(t *testing.T, got map[string]kadm.Config, name, value string, source kmsg.ConfigSource) {
	t.Helper()
	c, ok := got[name]
	if !ok || c.Value == nil || *c.Value != value || c.Source != source {
		t.Errorf("%s = %v (source %v), want %q (%v)", name, c.Value, c.Source, value, source)
	}
}

// What Kafka Streams 4.0 and Connect 4.0 put in their CreateTopics
// requests is stored and described back as the topic's own configs, on
// every gateway of the backend.
func TestTopicConfigsStreamsAndConnect(t *testing.T) {
	addr, b := startGatewayBackend(t)
	adm := kadm.NewClient(newClient(t, addr))
	s := kmsg.StringPtr
	topics := map[string]map[string]*string{
		// Streams: a key-value store's changelog, a versioned one's, a window
		// store's, and a repartition topic.
		"app-store-changelog":     {"cleanup.policy": s("compact"), "message.timestamp.type": s("CreateTime")},
		"app-versioned-changelog": {"cleanup.policy": s("compact"), "message.timestamp.type": s("CreateTime"), "min.compaction.lag.ms": s("86400000")},
		"app-window-changelog":    {"cleanup.policy": s("compact,delete"), "retention.ms": s("172800000"), "message.timestamp.type": s("CreateTime")},
		"app-repartition":         {"cleanup.policy": s("delete"), "segment.bytes": s("52428800"), "retention.ms": s("-1"), "message.timestamp.type": s("CreateTime")},
		// Connect's internal topics.
		"connect-configs": {"cleanup.policy": s("compact")},
		"connect-offsets": {"cleanup.policy": s("compact")},
	}
	for name, configs := range topics {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, -1
		for k, v := range configs {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, v
			rt.Configs = append(rt.Configs, c)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(testCtx(t), newClient(t, addr))
		if err != nil || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create %s: %v %+v", name, err, resp)
		}
		// v5+ answers the topic's configs.
		found := false
		for _, c := range resp.Topics[0].Configs {
			if c.Name == "cleanup.policy" {
				found = *c.Value == *configs["cleanup.policy"] && c.Source == int8(kmsg.ConfigSourceDynamicTopicConfig)
			}
		}
		if !found {
			t.Errorf("create %s: response configs %+v lack cleanup.policy %s", name, resp.Topics[0].Configs, *configs["cleanup.policy"])
		}
	}
	other := kadm.NewClient(newClient(t, serveOn(t, b)))
	for name, configs := range topics {
		got := describeTopic(t, other, name)
		for k, v := range configs {
			wantConfig(t, got, k, *v, kmsg.ConfigSourceDynamicTopicConfig)
		}
		wantConfig(t, got, "max.message.bytes", "104857600", kmsg.ConfigSourceDefaultConfig)
	}
	pol, err := b.Admin().TopicPolicy(testCtx(t), "app-window-changelog")
	if err != nil || !pol.Compact || !pol.Delete || pol.RetentionTime.Hours() != 48 {
		t.Errorf("backend policy of the window changelog = %+v, %v", pol, err)
	}
	// A topic that exists is still TOPIC_ALREADY_EXISTS, configs or not.
	res, _ := adm.CreateTopic(testCtx(t), 1, 1, map[string]*string{"cleanup.policy": s("compact")}, "connect-configs")
	if !errors.Is(res.Err, kerr.TopicAlreadyExists) {
		t.Errorf("create again: %v", res.Err)
	}
}

// Settings the gateway cannot honour are refused, and the topic is not made.
func TestTopicConfigsRefused(t *testing.T) {
	adm := kadm.NewClient(newClient(t, startGateway(t)))
	s := kmsg.StringPtr
	for i, c := range []map[string]*string{
		{"message.timestamp.type": s("LogAppendTime")},
		{"min.insync.replicas": s("2")},
		{"compression.type": s("zstd")},
		{"cleanup.policy": s("compact,forever")},
		{"cleanup.policy": s("")},
		{"retention.ms": s("-5")},
		{"retention.ms": s("soon")},
		{"no.such.config": s("1")},
		{"cleanup.policy": nil},
	} {
		name := fmt.Sprintf("refused-%d", i)
		res, _ := adm.CreateTopic(testCtx(t), 1, 1, c, name)
		if !errors.Is(res.Err, kerr.InvalidConfig) || res.ErrMessage == "" {
			t.Errorf("create with %v: %v %q, want INVALID_CONFIG with a message", c, res.Err, res.ErrMessage)
		}
		if td, err := adm.ListTopics(testCtx(t), name); err == nil && td.Has(name) && td[name].Err == nil {
			t.Errorf("topic %s made despite a refused config", name)
		}
	}
}

// IncrementalAlterConfigs and AlterConfigs change what is described and
// what the backend does; refused values change nothing.
func TestAlterTopicConfigs(t *testing.T) {
	addr, b := startGatewayBackend(t)
	adm := kadm.NewClient(newClient(t, addr))
	createTopic(t, newClient(t, addr), "alt", 1)
	s := kmsg.StringPtr
	alter := func(cs ...kadm.AlterConfig) error {
		t.Helper()
		res, err := adm.AlterTopicConfigs(testCtx(t), cs, "alt")
		if err != nil {
			t.Fatal(err)
		}
		return res[0].Err
	}
	if err := alter(kadm.AlterConfig{Name: "cleanup.policy", Value: s("compact")}); err != nil {
		t.Fatal(err)
	}
	wantConfig(t, describeTopic(t, adm, "alt"), "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)
	if err := alter(kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: s("delete")},
		kadm.AlterConfig{Name: "retention.ms", Value: s("60000")}); err != nil {
		t.Fatal(err)
	}
	got := describeTopic(t, adm, "alt")
	wantConfig(t, got, "cleanup.policy", "compact,delete", kmsg.ConfigSourceDynamicTopicConfig)
	wantConfig(t, got, "retention.ms", "60000", kmsg.ConfigSourceDynamicTopicConfig)
	if pol, _ := b.Admin().TopicPolicy(testCtx(t), "alt"); !pol.Compact || !pol.Delete || pol.RetentionTime.Seconds() != 60 {
		t.Errorf("backend policy = %+v", pol)
	}
	if err := alter(kadm.AlterConfig{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: s("compact")},
		kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"}); err != nil {
		t.Fatal(err)
	}
	got = describeTopic(t, adm, "alt")
	wantConfig(t, got, "cleanup.policy", "delete", kmsg.ConfigSourceDynamicTopicConfig)
	wantConfig(t, got, "retention.ms", "-1", kmsg.ConfigSourceDefaultConfig)
	for _, bad := range []kadm.AlterConfig{
		{Name: "message.timestamp.type", Value: s("LogAppendTime")},
		{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: s("delete")}, // leaves none
		{Op: kadm.AppendConfig, Name: "retention.ms", Value: s("1")},          // not a list
		{Name: "bogus", Value: s("1")},
	} {
		if err := alter(bad); !errors.Is(err, kerr.InvalidConfig) {
			t.Errorf("alter %+v: %v, want INVALID_CONFIG", bad, err)
		}
	}
	wantConfig(t, describeTopic(t, adm, "alt"), "cleanup.policy", "delete", kmsg.ConfigSourceDynamicTopicConfig)

	// AlterConfigs replaces every override.
	res, err := adm.AlterTopicConfigsState(testCtx(t), []kadm.AlterConfig{{Name: "cleanup.policy", Value: s("compact")}}, "alt")
	if err != nil || res[0].Err != nil {
		t.Fatalf("AlterConfigs: %v %v", err, res)
	}
	got = describeTopic(t, adm, "alt")
	wantConfig(t, got, "cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig)
	if res, _ := adm.AlterTopicConfigs(testCtx(t), []kadm.AlterConfig{{Name: "cleanup.policy", Value: s("compact")}}, "missing"); !errors.Is(res[0].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("alter a missing topic: %v", res[0].Err)
	}
}

// DeleteRecords moves the log start for ListOffsets and Fetch, on every
// gateway; a Fetch below it is OFFSET_OUT_OF_RANGE, as on Kafka.
func TestDeleteRecords(t *testing.T) {
	addr, b := startGatewayBackend(t)
	cl := newClient(t, addr)
	adm := kadm.NewClient(cl)
	createTopic(t, cl, "dr", 1)
	produceN(t, cl, "dr", 10)
	res, err := adm.DeleteRecords(testCtx(t), kadm.Offsets{"dr": {0: {At: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := res.Lookup("dr", 0); !ok || r.Err != nil || r.LowWatermark != 4 {
		t.Fatalf("DeleteRecords = %+v", r)
	}
	other := newClient(t, serveOn(t, b))
	starts, err := kadm.NewClient(other).ListStartOffsets(testCtx(t), "dr")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup("dr", 0); o.Offset != 4 {
		t.Errorf("start offset on another gateway = %d, want 4", o.Offset)
	}
	// Fetch below the start.
	f := kmsg.NewPtrFetchRequest()
	f.MaxWaitMillis, f.MaxBytes = 10, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "dr"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 2, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	f.Topics = append(f.Topics, ft)
	fr, err := f.RequestWith(testCtx(t), other)
	if err != nil {
		t.Fatal(err)
	}
	if p := fr.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.LogStartOffset != 4 {
		t.Errorf("fetch at 2: error %d, log start %d; want OFFSET_OUT_OF_RANGE, 4", p.ErrorCode, p.LogStartOffset)
	}
	// A consumer from the start reads 4..9.
	c := newClient(t, addr, kgo.ConsumeTopics("dr"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := consume(t, c, 6)
	if recs[0].Offset != 4 || recs[5].Offset != 9 {
		t.Errorf("consumed offsets %d..%d, want 4..9", recs[0].Offset, recs[5].Offset)
	}
	res, _ = adm.DeleteRecords(testCtx(t), kadm.Offsets{"dr": {0: {At: 11}}})
	if r, _ := res.Lookup("dr", 0); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Errorf("DeleteRecords past the end: %v, want OFFSET_OUT_OF_RANGE", r.Err)
	}
	res, _ = adm.DeleteRecords(testCtx(t), kadm.Offsets{"dr": {0: {At: -1}}})
	if r, _ := res.Lookup("dr", 0); r.Err != nil || r.LowWatermark != 10 {
		t.Errorf("DeleteRecords to the high watermark: %+v", r)
	}
}

// A compacted topic read from its start gives the newest value of each key
// at the offset it was produced at; a tombstone past delete.retention.ms
// and what it deleted are gone.
func TestCompactedTopicFetch(t *testing.T) {
	addr, b := startGatewayBackend(t)
	cl := newClient(t, addr)
	adm := kadm.NewClient(cl)
	s := kmsg.StringPtr
	res, err := adm.CreateTopic(testCtx(t), 1, 1, map[string]*string{"cleanup.policy": s("compact"), "delete.retention.ms": s("0")}, "cmp")
	if err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "cmp", Key: []byte(fmt.Sprint("k", i%3)), Value: []byte(fmt.Sprint(i))})
	}
	recs = append(recs, &kgo.Record{Topic: "cmp", Key: []byte("k1")}) // offset 30: deletes k1
	// Each its own batch, so compaction has more than one stored batch to work on.
	for _, r := range recs {
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The newest batch is never compacted (Kafka's active segment): one more.
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "cmp", Key: []byte("end"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := b.Admin().Compact(testCtx(t), "cmp"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, addr, kgo.ConsumeTopics("cmp"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, c, 3)
	want := []struct {
		key, value string
		offset     int64
	}{{"k0", "27", 27}, {"k2", "29", 29}, {"end", "x", 31}}
	for i, w := range want {
		if r := got[i]; string(r.Key) != w.key || string(r.Value) != w.value || r.Offset != w.offset {
			t.Errorf("record %d: %s=%s at %d, want %s=%s at %d", i, r.Key, r.Value, r.Offset, w.key, w.value, w.offset)
		}
	}
	ends, _ := adm.ListEndOffsets(testCtx(t), "cmp")
	starts, _ := adm.ListStartOffsets(testCtx(t), "cmp")
	if e, _ := ends.Lookup("cmp", 0); e.Offset != 32 {
		t.Errorf("end offset %d, want 32", e.Offset)
	}
	if s, _ := starts.Lookup("cmp", 0); s.Offset != 0 {
		t.Errorf("start offset %d, want 0 (compaction keeps the log start)", s.Offset)
	}
}

// Compaction inside one produced batch keeps the kept records' offsets,
// and a tombstone younger than delete.retention.ms stays null.
func TestCompactedBatchKeepsOffsetsAndNulls(t *testing.T) {
	addr, b := startGatewayBackend(t)
	cl := newClient(t, addr, kgo.ProducerLinger(50*time.Millisecond))
	res, _ := kadm.NewClient(cl).CreateTopic(testCtx(t), 1, 1, map[string]*string{"cleanup.policy": kmsg.StringPtr("compact")}, "cmpb")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	rec := func(k, v string) *kgo.Record {
		r := &kgo.Record{Topic: "cmpb", Key: []byte(k)}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	// One batch: k0=a k1=b k0=c k2=null k1=d.
	if err := cl.ProduceSync(testCtx(t), rec("k0", "a"), rec("k1", "b"), rec("k0", "c"), rec("k2", ""), rec("k1", "d")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(testCtx(t), rec("end", "x")).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := b.Admin().Compact(testCtx(t), "cmpb"); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, addr, kgo.ConsumeTopics("cmpb"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consume(t, c, 4)
	want := []struct {
		key, value string
		offset     int64
	}{{"k0", "c", 2}, {"k2", "", 3}, {"k1", "d", 4}, {"end", "x", 5}}
	for i, w := range want {
		r := got[i]
		if string(r.Key) != w.key || string(r.Value) != w.value || r.Offset != w.offset {
			t.Errorf("record %d: %s=%s at %d, want %s=%s at %d", i, r.Key, r.Value, r.Offset, w.key, w.value, w.offset)
		}
	}
	if got[1].Value != nil {
		t.Errorf("tombstone read back as %q, want null", got[1].Value)
	}
}
