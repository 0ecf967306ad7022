package kafka

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

// openPulsar opens a backend on the broker PULSAR_URL names, or skips.
func openPulsar(t *testing.T) bridge.Backend {
	t.Helper()
	opts, ok := pulsartest.Options("PULSAR_")
	if !ok {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.Logger = zap.NewNop()
	b, err := pulsarbackend.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// One group, one member on each of two gateways sharing a Pulsar: one
// assignment for both (each partition to one member), every record read
// once, and the same Stable group with both members described by either
// gateway. Before group logs, each gateway ran a group of its own: both
// members got every partition and every record was read twice.
func TestGroupAcrossGateways(t *testing.T) {
	addr1 := serveOn(t, openPulsar(t))
	addr2 := serveOn(t, openPulsar(t))
	for _, balancer := range []kgo.GroupBalancer{kgo.CooperativeStickyBalancer(), kgo.RangeBalancer()} {
		t.Run(balancer.ProtocolName(), func(t *testing.T) {
			suffix := fmt.Sprintf("%s-%d", balancer.ProtocolName(), time.Now().UnixNano())
			topic, group := "across-"+suffix, "g-across-"+suffix
			admin := newClient(t, addr1)
			createTopic(t, admin, topic, 4)
			opts := []kgo.Opt{kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.Balancers(balancer),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.HeartbeatInterval(200 * time.Millisecond)}
			members := []*kgo.Client{newClient(t, addr1, opts...), newClient(t, addr2, opts...)}
			var (
				mu   sync.Mutex
				seen = map[string]int{}
				n    int
			)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, cl := range members {
				wg.Go(func() {
					for ctx.Err() == nil {
						fs := cl.PollFetches(ctx)
						mu.Lock()
						fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++; n++ })
						mu.Unlock()
					}
				})
			}
			defer func() { cancel(); wg.Wait() }()

			// Both members in one Stable group that assigns every partition
			// once (cooperative: after its second round), whichever gateway
			// is asked.
			owners := func(d kadm.DescribedGroup) map[int32]string {
				out := map[int32]string{}
				for _, m := range d.Members {
					ca, _ := m.Assigned.AsConsumer()
					for _, at := range ca.Topics {
						for _, p := range at.Partitions {
							if o, dup := out[p]; dup {
								t.Fatalf("partition %d assigned to %s and %s", p, o, m.MemberID)
							}
							out[p] = m.MemberID
						}
					}
				}
				return out
			}
			var described [2]kadm.DescribedGroup
			deadline := time.Now().Add(30 * time.Second)
			for i := 0; i < 2; {
				d, err := kadm.NewClient(newClient(t, []string{addr1, addr2}[i])).DescribeGroups(testCtx(t), group)
				if err == nil && d[group].State == "Stable" && len(d[group].Members) == 2 && len(owners(d[group])) == 4 {
					described[i] = d[group]
					i++
					continue
				}
				if time.Now().After(deadline) {
					t.Fatalf("gateway %d: group %+v, %v; want Stable with 2 members sharing 4 partitions", i+1, d[group], err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if fmt.Sprint(owners(described[0])) != fmt.Sprint(owners(described[1])) {
				t.Fatalf("the gateways describe different assignments: %v and %v", owners(described[0]), owners(described[1]))
			}

			produceN(t, admin, topic, 400)
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				mu.Lock()
				got := n
				mu.Unlock()
				if got >= 400 || time.Now().After(deadline) {
					break
				}
			}
			time.Sleep(500 * time.Millisecond) // a second copy would come by now
			mu.Lock()
			defer mu.Unlock()
			if n != 400 || len(seen) != 400 {
				t.Fatalf("read %d records, %d distinct; want each of 400 once", n, len(seen))
			}
		})
	}
}

// Static membership (KIP-345) across gateways: a static member restarting
// through another gateway takes its old place (same generation and
// assignment, no rebalance, in a Stable group) and fences the old process,
// whose heartbeat, commit, rejoin and leave get FENCED_INSTANCE_ID. The
// same rules hold on one gateway, on the embedded store.
func TestStaticMembershipAcrossGateways(t *testing.T) {
	cases := []struct {
		name string
		a, b func(t *testing.T) string
	}{{"embedded", startGateway, nil}}
	if os.Getenv("PULSAR_URL") != "" {
		cases = append(cases, struct {
			name string
			a, b func(t *testing.T) string
		}{"pulsar", func(t *testing.T) string { return serveOn(t, openPulsar(t)) }, func(t *testing.T) string { return serveOn(t, openPulsar(t)) }})
	}
	if k := os.Getenv("KAFKA_BOOTSTRAP"); k != "" {
		// The same requests to real Kafka (integration/kafka/kraft.sh): the reference.
		cases = append(cases, struct {
			name string
			a, b func(t *testing.T) string
		}{"kafka", func(*testing.T) string { return k }, nil})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addrA := tc.a(t)
			addrB := addrA
			if tc.b != nil {
				addrB = tc.b(t)
			}
			group := fmt.Sprintf("static-%s-%d", tc.name, time.Now().UnixNano())
			clA, clB := newClient(t, addrA), newClient(t, addrB)
			inst := "instance-1"
			meta := kmsg.NewConsumerMemberMetadata()
			meta.Topics = []string{"t"}
			join := func(cl *kgo.Client, member string, version int16) *kmsg.JoinGroupResponse {
				t.Helper()
				req := kmsg.NewPtrJoinGroupRequest()
				req.Version = version
				req.Group, req.MemberID, req.InstanceID, req.ProtocolType = group, member, &inst, "consumer"
				req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
				p := kmsg.NewJoinGroupRequestProtocol()
				p.Name, p.Metadata = "range", meta.AppendTo(nil)
				req.Protocols = append(req.Protocols, p)
				resp, err := req.RequestWith(testCtx(t), cl)
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			j1 := join(clA, "", 9)
			if j1.ErrorCode != 0 || j1.LeaderID != j1.MemberID {
				t.Fatalf("first static join: code %d, leader %q, member %q", j1.ErrorCode, j1.LeaderID, j1.MemberID)
			}
			sync := kmsg.NewPtrSyncGroupRequest()
			sync.Group, sync.MemberID, sync.InstanceID, sync.Generation = group, j1.MemberID, &inst, j1.Generation
			sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
			sa := kmsg.NewSyncGroupRequestGroupAssignment()
			sa.MemberID, sa.MemberAssignment = j1.MemberID, []byte("the-assignment")
			sync.GroupAssignment = append(sync.GroupAssignment, sa)
			if sr, err := sync.RequestWith(testCtx(t), clA); err != nil || sr.ErrorCode != 0 {
				t.Fatalf("sync: %v %v", sr, err)
			}

			// The same instance restarts through gateway B.
			j2 := join(clB, "", 9)
			if j2.ErrorCode != 0 || j2.MemberID == j1.MemberID || j2.Generation != j1.Generation {
				t.Fatalf("static rejoin: code %d, member %q (old %q), generation %d (was %d); want a new id in the same generation",
					j2.ErrorCode, j2.MemberID, j1.MemberID, j2.Generation, j1.Generation)
			}
			if !j2.SkipAssignment || j2.LeaderID != j2.MemberID {
				t.Fatalf("static leader rejoin (v9): skip %v, leader %q; want told to skip assigning as the leader", j2.SkipAssignment, j2.LeaderID)
			}
			sync2 := kmsg.NewPtrSyncGroupRequest()
			sync2.Group, sync2.MemberID, sync2.InstanceID, sync2.Generation = group, j2.MemberID, &inst, j2.Generation
			sync2.ProtocolType, sync2.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
			if sr, err := sync2.RequestWith(testCtx(t), clB); err != nil || sr.ErrorCode != 0 || string(sr.MemberAssignment) != "the-assignment" {
				t.Fatalf("sync after the static rejoin: %+v %v; want the old assignment", sr, err)
			}

			// The old process is fenced, through either gateway.
			for _, cl := range []*kgo.Client{clA, clB} {
				hb := kmsg.NewPtrHeartbeatRequest()
				hb.Group, hb.MemberID, hb.InstanceID, hb.Generation = group, j1.MemberID, &inst, j1.Generation
				if r, err := hb.RequestWith(testCtx(t), cl); err != nil || r.ErrorCode != kerr.FencedInstanceID.Code {
					t.Fatalf("old member's heartbeat: %+v %v; want FENCED_INSTANCE_ID", r, err)
				}
			}
			oc := kmsg.NewPtrOffsetCommitRequest()
			oc.Group, oc.MemberID, oc.InstanceID, oc.Generation = group, j1.MemberID, &inst, j1.Generation
			ot := kmsg.NewOffsetCommitRequestTopic()
			ot.Topic = group // an existing topic: Kafka checks that first
			createTopic(t, clA, group, 1)
			op := kmsg.NewOffsetCommitRequestTopicPartition()
			op.Offset = 1
			ot.Partitions = append(ot.Partitions, op)
			oc.Topics = append(oc.Topics, ot)
			if r, err := oc.RequestWith(testCtx(t), clA); err != nil || r.Topics[0].Partitions[0].ErrorCode != kerr.FencedInstanceID.Code {
				t.Fatalf("old member's commit: %+v %v; want FENCED_INSTANCE_ID", r, err)
			}
			if r := join(clA, j1.MemberID, 9); r.ErrorCode != kerr.FencedInstanceID.Code {
				t.Fatalf("old member's rejoin: code %d; want FENCED_INSTANCE_ID", r.ErrorCode)
			}
			lv := kmsg.NewPtrLeaveGroupRequest()
			lv.Group = group
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID, lm.InstanceID = j1.MemberID, &inst
			lv.Members = append(lv.Members, lm)
			if r, err := lv.RequestWith(testCtx(t), clA); err != nil || r.Members[0].ErrorCode != kerr.FencedInstanceID.Code {
				t.Fatalf("old member's leave: %+v %v; want FENCED_INSTANCE_ID", r, err)
			}
			// The new one is a member in good standing.
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.MemberID, hb.InstanceID, hb.Generation = group, j2.MemberID, &inst, j2.Generation
			if r, err := hb.RequestWith(testCtx(t), clA); err != nil || r.ErrorCode != 0 {
				t.Fatalf("new member's heartbeat through the other gateway: %+v %v", r, err)
			}
			// A v5 client restarting sees the old leader id (Kafka's answer
			// before KIP-814), so it does not assign in a Stable group.
			old := newClient(t, addrA, kgo.MaxVersions(kversion.V2_3_0())) // JoinGroup v5
			j3 := join(old, "", 5)
			if j3.ErrorCode != 0 || j3.LeaderID != j2.MemberID || len(j3.Members) != 0 {
				t.Fatalf("v5 static leader rejoin: code %d, leader %q (want the old id %q), %d members",
					j3.ErrorCode, j3.LeaderID, j2.MemberID, len(j3.Members))
			}
		})
	}
}

// Commits around a rebalance, as Kafka's classic coordinator takes them: a
// member of the current generation may commit while the next round is being
// prepared (cooperative members keep consuming and committing their owned
// partitions through it); between the round's end and the leader's
// SyncGroup the answer is REBALANCE_IN_PROGRESS; the old generation's
// commits are ILLEGAL_GENERATION after. Run against real Kafka too when
// KAFKA_BOOTSTRAP is set.
func TestCommitsAroundRebalance(t *testing.T) {
	targets := map[string]func(t *testing.T) string{"embedded": startGateway}
	if os.Getenv("PULSAR_URL") != "" {
		targets["pulsar"] = func(t *testing.T) string { return serveOn(t, openPulsar(t)) }
	}
	if k := os.Getenv("KAFKA_BOOTSTRAP"); k != "" {
		targets["kafka"] = func(*testing.T) string { return k }
	}
	for name, start := range targets {
		t.Run(name, func(t *testing.T) {
			addr := start(t)
			// A client each: Kafka runs one connection's requests in order, so a
			// JoinGroup waiting for its round holds up what follows it there.
			cl, clB := newClient(t, addr), newClient(t, addr)
			group := fmt.Sprintf("commits-%s-%d", name, time.Now().UnixNano())
			createTopic(t, cl, group, 1)
			meta := kmsg.NewConsumerMemberMetadata()
			meta.Topics = []string{group}
			join := func(cl *kgo.Client, member string) *kmsg.JoinGroupResponse {
				t.Helper()
				req := kmsg.NewPtrJoinGroupRequest()
				req.Group, req.MemberID, req.ProtocolType = group, member, "consumer"
				req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
				p := kmsg.NewJoinGroupRequestProtocol()
				p.Name, p.Metadata = "cooperative-sticky", meta.AppendTo(nil)
				req.Protocols = append(req.Protocols, p)
				for {
					resp, err := req.RequestWith(testCtx(t), cl)
					if err != nil {
						t.Fatal(err)
					}
					if resp.ErrorCode != kerr.MemberIDRequired.Code {
						return resp
					}
					req.MemberID = resp.MemberID
				}
			}
			commit := func(member string, gen int32, offset int64) int16 {
				t.Helper()
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Group, req.MemberID, req.Generation = group, member, gen
				rt := kmsg.NewOffsetCommitRequestTopic()
				rt.Topic = group
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Offset = offset
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				resp, err := req.RequestWith(testCtx(t), cl)
				if err != nil {
					t.Fatal(err)
				}
				return resp.Topics[0].Partitions[0].ErrorCode
			}
			syncAs := func(j *kmsg.JoinGroupResponse) int16 {
				t.Helper()
				req := kmsg.NewPtrSyncGroupRequest()
				req.Group, req.MemberID, req.Generation = group, j.MemberID, j.Generation
				req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("cooperative-sticky")
				if j.LeaderID == j.MemberID {
					for _, m := range j.Members {
						a := kmsg.NewSyncGroupRequestGroupAssignment()
						a.MemberID = m.MemberID
						req.GroupAssignment = append(req.GroupAssignment, a)
					}
				}
				resp, err := req.RequestWith(testCtx(t), cl)
				if err != nil {
					t.Fatal(err)
				}
				return resp.ErrorCode
			}
			a := join(cl, "")
			if a.ErrorCode != 0 || syncAs(a) != 0 {
				t.Fatalf("first member: join %d", a.ErrorCode)
			}
			if code := commit(a.MemberID, a.Generation, 1); code != 0 {
				t.Fatalf("commit in a Stable group: %d", code)
			}
			// A second member's join starts the next round; A has not rejoined.
			bDone := make(chan *kmsg.JoinGroupResponse, 1)
			go func() { bDone <- join(clB, "") }()
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				d, err := kadm.NewClient(cl).DescribeGroups(testCtx(t), group)
				if err == nil && d[group].State == "PreparingRebalance" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the group never started preparing a rebalance: %+v %v", d[group], err)
				}
			}
			if code := commit(a.MemberID, a.Generation, 2); code != 0 {
				t.Fatalf("commit of the current generation while the next round is prepared: code %d, want 0 (Kafka takes it)", code)
			}
			a2 := join(cl, a.MemberID) // the round ends: both in the next generation
			b := <-bDone
			if a2.ErrorCode != 0 || b.ErrorCode != 0 || a2.Generation != a.Generation+1 {
				t.Fatalf("rejoin: %d / %d, generation %d", a2.ErrorCode, b.ErrorCode, a2.Generation)
			}
			if code := commit(a.MemberID, a2.Generation, 3); code != kerr.RebalanceInProgress.Code {
				t.Fatalf("commit before the leader's SyncGroup: code %d, want REBALANCE_IN_PROGRESS", code)
			}
			leader, other := a2, b
			if b.LeaderID == b.MemberID {
				leader, other = b, a2
			}
			if syncAs(leader) != 0 || syncAs(other) != 0 {
				t.Fatal("sync of the new generation failed")
			}
			if code := commit(a.MemberID, a.Generation, 4); code != kerr.IllegalGeneration.Code {
				t.Fatalf("commit of the old generation: code %d, want ILLEGAL_GENERATION", code)
			}
			if code := commit(a.MemberID, a2.Generation, 5); code != 0 {
				t.Fatalf("commit of the new generation: %d", code)
			}
			// SyncGroup v5 names the protocol it thinks it joined: another is refused.
			wrong := kmsg.NewPtrSyncGroupRequest()
			wrong.Group, wrong.MemberID, wrong.Generation = group, a2.MemberID, a2.Generation
			wrong.ProtocolType, wrong.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
			if r, err := wrong.RequestWith(testCtx(t), cl); err != nil || r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
				t.Fatalf("SyncGroup naming another protocol: %+v %v; want INCONSISTENT_GROUP_PROTOCOL", r, err)
			}
		})
	}
}

// A group log nobody here uses is closed after the idle time, and a later
// member opens it again where the group left off.
func TestGroupLogClosedWhenIdle(t *testing.T) {
	b, err := embedded.Open(embedded.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr, h, _ := serveHandler(t, b, func(o *Options) { o.groupIdle = 200 * time.Millisecond })
	group, topic := "idle-group", "idle-topic"
	createTopic(t, newClient(t, addr), topic, 1)
	open := func() bool {
		h.groups.mu.Lock()
		defer h.groups.mu.Unlock()
		return h.groups.logs[group] != nil
	}
	describe := func() kadm.DescribedGroup {
		d, err := kadm.NewClient(newClient(t, addr)).DescribeGroups(testCtx(t), group)
		if err != nil {
			t.Fatal(err)
		}
		return d[group]
	}
	m := newClient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
	for deadline := time.Now().Add(10 * time.Second); describe().State != "Stable"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the group never became Stable")
		}
	}
	m.Close() // leaves
	for deadline := time.Now().Add(5 * time.Second); open(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the log of a group nobody uses is still followed")
		}
	}
	m2 := newClient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic))
	defer m2.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if d := describe(); d.State == "Stable" && len(d.Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a member after the log was closed: %+v", describe())
		}
	}
	if !open() {
		t.Fatal("the reopened group's log is not followed")
	}
}
