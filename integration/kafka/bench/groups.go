package main

// -mode groups: how long a consumer group takes to form and to rebalance.
// Three members, each with a kgo client sending the classic protocol's raw
// requests as a consumer does: JoinGroup (again after MEMBER_ID_REQUIRED),
// SyncGroup (the leader with the assignment), then a Heartbeat every 10 ms
// that sends it back to JoinGroup when a rebalance starts. A round ends
// when all three hold a SyncGroup answer of one generation whose leader saw
// all three. "form" starts from a fresh group id; "rejoin" is then all three
// joining again with their member ids, as after a subscription change.
//
//	gw1-embedded  the three members on one gateway, embedded backend
//	gw1-pulsar    the three on one gateway on Pulsar
//	gw3-pulsar    one member on each of three gateways, each with its own
//	              Pulsar client, as three processes would be
//	kafka         real Kafka (KAFKA_BOOTSTRAP; kraft.sh sets
//	              group.initial.rebalance.delay.ms=0, as the gateway has none)

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

const groupMembers = 3

type groupTarget struct {
	name  string
	addrs []string // member i dials addrs[i%len]
}

func runGroups(ctx context.Context, want map[string]bool, pulsarURL, adminURL, kafkaAddr string) {
	var ts []groupTarget
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	if want["gw1-embedded"] {
		addr, stop := serveEmbedded(ctx)
		closers = append(closers, stop)
		ts = append(ts, groupTarget{"gw1-embedded", []string{addr}})
	}
	for _, n := range []int{1, 3} {
		name := fmt.Sprintf("gw%d-pulsar", n)
		if !want[name] {
			continue
		}
		if pulsarURL == "" || adminURL == "" {
			fmt.Fprintln(os.Stderr, name+" skipped: PULSAR_URL and PULSAR_ADMIN_URL not set")
			continue
		}
		t := groupTarget{name: name}
		for range n {
			b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: pulsarURL, AdminURL: adminURL})
			check(err)
			addr, stop := serve(ctx, b)
			closers = append(closers, func() { stop(); b.Close() })
			t.addrs = append(t.addrs, addr)
		}
		ts = append(ts, t)
	}
	if want["kafka"] && kafkaAddr != "" {
		ts = append(ts, groupTarget{"kafka", []string{kafkaAddr}})
	} else if want["kafka"] {
		fmt.Fprintln(os.Stderr, "kafka skipped: KAFKA_BOOTSTRAP not set (integration/kafka/kraft.sh start)")
	}
	if len(ts) == 0 {
		fmt.Fprintln(os.Stderr, "no target")
		os.Exit(2)
	}

	form, rejoin := map[string][]time.Duration{}, map[string][]time.Duration{}
	stamp := time.Now().UnixNano()
	for r := range *runs {
		for i := range ts {
			t := ts[(i+r)%len(ts)]
			f, j, err := groupRun(ctx, t, fmt.Sprintf("bench-group-%x-%s-%d", stamp, t.name, r))
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s run %d: %v\n", t.name, r, err)
				continue
			}
			fmt.Fprintf(os.Stderr, "run %d %-12s form %6.1f ms  rejoin %6.1f ms\n", r, t.name, ms(f), ms(j))
			form[t.name] = append(form[t.name], f)
			rejoin[t.name] = append(rejoin[t.name], j)
		}
	}
	med := func(v []time.Duration) time.Duration {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	fmt.Printf("\n| target | form a %d-member group, ms | rejoin, ms | form / kafka | rejoin / kafka |\n|---|---|---|---|---|\n", groupMembers)
	for _, t := range ts {
		if len(form[t.name]) == 0 {
			continue
		}
		f, j := med(form[t.name]), med(rejoin[t.name])
		ratio := func(mine time.Duration, ref []time.Duration) string {
			if len(ref) == 0 || t.name == "kafka" {
				return ""
			}
			return fmt.Sprintf("%.2f", float64(mine)/float64(med(ref)))
		}
		fmt.Printf("| %s | %.1f | %.1f | %s | %s |\n", t.name, ms(f), ms(j), ratio(f, form["kafka"]), ratio(j, rejoin["kafka"]))
	}
	fmt.Printf("\n(medians of %d runs; JoinGroup to the last SyncGroup answer, heartbeats every 10 ms)\n", *runs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// groupRound is what the members of one round report.
type groupRound struct {
	mu      sync.Mutex
	synced  map[int]int32 // member -> generation of its last SyncGroup
	full    map[int32]int // generation -> members its leader saw
	done    chan struct{}
	closing sync.Once
}

func (g *groupRound) report(member int, gen int32, leaderSaw int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.synced[member] = gen
	if leaderSaw > 0 {
		g.full[gen] = leaderSaw
	}
	for _, s := range g.synced {
		if s != gen {
			return
		}
	}
	if len(g.synced) == groupMembers && g.full[gen] == groupMembers {
		g.closing.Do(func() { close(g.done) })
	}
}

type groupMember struct {
	i  int
	cl *kgo.Client
	id string
}

// groupRun times a fresh group's forming, then its rejoin.
func groupRun(ctx context.Context, t groupTarget, group string) (form, rejoin time.Duration, err error) {
	members := make([]*groupMember, groupMembers)
	for i := range members {
		cl, err := kgo.NewClient(kgo.SeedBrokers(t.addrs[i%len(t.addrs)]))
		if err != nil {
			return 0, 0, err
		}
		defer cl.Close()
		members[i] = &groupMember{i: i, cl: cl}
		// Connected and coordinator known before the clock starts: the
		// round times the group, not the dial.
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = group
		if _, err := req.RequestWith(ctx, cl); err != nil {
			return 0, 0, err
		}
	}
	if form, err = groupRoundTime(ctx, group, members); err != nil {
		return 0, 0, fmt.Errorf("form: %w", err)
	}
	if rejoin, err = groupRoundTime(ctx, group, members); err != nil {
		return 0, 0, fmt.Errorf("rejoin: %w", err)
	}
	for _, m := range members {
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group = group
		mi := kmsg.NewLeaveGroupRequestMember()
		mi.MemberID = m.id
		req.Members = append(req.Members, mi)
		req.MemberID = m.id
		m.cl.Request(ctx, req)
	}
	return form, rejoin, nil
}

func groupRoundTime(ctx context.Context, group string, members []*groupMember) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	g := &groupRound{synced: map[int]int32{}, full: map[int32]int{}, done: make(chan struct{})}
	rctx, stop := context.WithCancel(ctx)
	errs := make(chan error, len(members))
	start := time.Now()
	var wg sync.WaitGroup
	for _, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.run(rctx, group, g); err != nil && rctx.Err() == nil {
				errs <- fmt.Errorf("member %d: %w", m.i, err)
			}
		}()
	}
	var err error
	select {
	case <-g.done:
	case err = <-errs:
	case <-ctx.Done():
		err = ctx.Err()
	}
	took := time.Since(start)
	stop()
	wg.Wait()
	return took, err
}

// run is one consumer's classic-protocol loop, until ctx ends.
func (m *groupMember) run(ctx context.Context, group string, g *groupRound) error {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"bench-group-topic"}
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
	for ctx.Err() == nil {
		join := kmsg.NewPtrJoinGroupRequest()
		join.Group, join.MemberID, join.ProtocolType = group, m.id, "consumer"
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
		join.Protocols = []kmsg.JoinGroupRequestProtocol{proto}
		jr, err := join.RequestWith(ctx, m.cl)
		if err != nil {
			return err
		}
		switch err := kerr.ErrorForCode(jr.ErrorCode); {
		case errors.Is(err, kerr.MemberIDRequired):
			m.id = jr.MemberID
			continue
		case errors.Is(err, kerr.UnknownMemberID):
			m.id = ""
			continue
		case errors.Is(err, kerr.RebalanceInProgress):
			continue
		case err != nil:
			return fmt.Errorf("JoinGroup: %w", err)
		}
		m.id = jr.MemberID
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, m.id
		sync.ProtocolType, sync.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		leaderSaw := 0
		if jr.LeaderID == m.id {
			leaderSaw = len(jr.Members)
			for _, jm := range jr.Members {
				a := kmsg.NewConsumerMemberAssignment()
				sa := kmsg.NewSyncGroupRequestGroupAssignment()
				sa.MemberID, sa.MemberAssignment = jm.MemberID, a.AppendTo(nil)
				sync.GroupAssignment = append(sync.GroupAssignment, sa)
			}
		}
		sr, err := sync.RequestWith(ctx, m.cl)
		if err != nil {
			return err
		}
		if err := kerr.ErrorForCode(sr.ErrorCode); err != nil {
			if errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.IllegalGeneration) {
				continue
			}
			return fmt.Errorf("SyncGroup: %w", err)
		}
		g.report(m.i, jr.Generation, leaderSaw)
		// Heartbeat until a rebalance sends us back, or the round ends.
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.Generation, hb.MemberID = group, jr.Generation, m.id
			hr, err := hb.RequestWith(ctx, m.cl)
			if err != nil {
				return err
			}
			if hr.ErrorCode != 0 {
				break
			}
		}
	}
	return nil
}
