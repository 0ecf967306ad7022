package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func produceN(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))})
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestConsumerGroupCommitAndFetch(t *testing.T) {
	for _, balancer := range []kgo.GroupBalancer{kgo.CooperativeStickyBalancer(), kgo.RangeBalancer()} {
		t.Run(balancer.ProtocolName(), func(t *testing.T) {
			addr, backend := startGatewayBackend(t)
			admin := newClient(t, addr)
			createTopic(t, admin, "events", 3)
			produceN(t, admin, "events", 90)

			group := "g-" + balancer.ProtocolName()
			opts := []kgo.Opt{
				kgo.ConsumerGroup(group), kgo.ConsumeTopics("events"), kgo.Balancers(balancer),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
				kgo.HeartbeatInterval(200 * time.Millisecond),
			}
			c1 := newClient(t, addr, opts...)
			got := consume(t, c1, 90)
			if len(got) != 90 {
				t.Fatalf("got %d records", len(got))
			}
			if err := c1.CommitUncommittedOffsets(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			// The commit shows in Pulsar as a durable subscription with no
			// backlog (mirrored behind the commit, so poll briefly).
			var subs []bridge.SubscriptionInfo
			for range 50 {
				subs, _ = backend.Admin().Subscriptions(testCtx(t), "persistent://public/default/events")
				if len(subs) == 1 && subs[0].Backlog == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(subs) != 1 || subs[0].Name != group || subs[0].Backlog != 0 || !subs[0].Durable {
				t.Fatalf("Pulsar subscriptions: %+v", subs)
			}
			adm := kadm.NewClient(admin)
			offs, err := adm.FetchOffsets(testCtx(t), group)
			if err != nil {
				t.Fatal(err)
			}
			total := int64(0)
			offs.Each(func(o kadm.OffsetResponse) { total += o.At })
			if total != 90 {
				t.Fatalf("committed offsets sum to %d, want 90: %v", total, offs)
			}
			lags, err := adm.Lag(testCtx(t), group)
			if err != nil {
				t.Fatal(err)
			}
			l := lags[group]
			if l.Error() != nil || l.State != "Stable" || len(l.Members) != 1 || l.Lag.Total() != 0 {
				t.Fatalf("lag: state %s members %d total %d err %v", l.State, len(l.Members), l.Lag.Total(), l.Error())
			}

			// A second member joins: the partitions are split between them,
			// and it starts at the committed offsets (nothing left to read).
			c2 := newClient(t, addr, opts...)
			produceN(t, admin, "events", 30)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// Autocommit is off, so a partition that moves may be read
			// again from the last commit: count distinct records.
			seen := map[string]bool{}
			for len(seen) < 30 && ctx.Err() == nil {
				for _, c := range []*kgo.Client{c1, c2} {
					pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
					for _, r := range c.PollFetches(pctx).Records() {
						if o, _ := offs.Lookup("events", r.Partition); r.Offset < o.At {
							t.Fatalf("record at offset %d read again after its commit", r.Offset)
						}
						seen[fmt.Sprint(r.Partition, "/", r.Offset)] = true
					}
					pcancel()
				}
			}
			if len(seen) != 30 {
				t.Fatalf("after the second member joined, got %d new records, want 30", len(seen))
			}
			var g kadm.DescribedGroup
			for ctx.Err() == nil {
				described, err := adm.DescribeGroups(testCtx(t), group)
				if err != nil {
					t.Fatal(err)
				}
				if g = described[group]; len(g.Members) == 2 && g.State == "Stable" {
					break
				}
				c1.PollFetches(shortCtx(t))
				c2.PollFetches(shortCtx(t))
			}
			if len(g.Members) != 2 || g.State != "Stable" {
				t.Fatalf("group: state %s members %d", g.State, len(g.Members))
			}
			c2.Close()
			listed, err := adm.ListGroups(testCtx(t))
			if err != nil || len(listed) == 0 {
				t.Fatalf("list groups: %v %v", listed, err)
			}
		})
	}
}

func TestDeleteGroup(t *testing.T) {
	addr, backend := startGatewayBackend(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "dg", 1)
	adm := kadm.NewClient(cl)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "dg", Partition: 0, At: 0, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(testCtx(t), "old-group", offs); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the subscription mirror catch up
	resp, err := adm.DeleteGroups(testCtx(t), "old-group", "never-was")
	if err != nil {
		t.Fatal(err)
	}
	if resp["old-group"].Err != nil || resp["never-was"].Err == nil {
		t.Fatalf("delete: %+v", resp)
	}
	fetched, _ := adm.FetchOffsets(testCtx(t), "old-group")
	if len(fetched) != 0 {
		t.Fatalf("offsets left: %v", fetched)
	}
	if subs, _ := backend.Admin().Subscriptions(testCtx(t), "persistent://public/default/dg"); len(subs) != 0 {
		t.Fatalf("subscriptions left: %+v", subs)
	}
}
