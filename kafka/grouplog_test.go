package kafka

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
)

// openPulsar opens a backend on the broker PULSAR_URL names, or skips.
func openPulsar(t *testing.T) bridge.Backend {
	t.Helper()
	if os.Getenv("PULSAR_URL") == "" || os.Getenv("PULSAR_ADMIN_URL") == "" {
		t.Skip("PULSAR_URL / PULSAR_ADMIN_URL unset: run `integration/pulsar/standalone.sh start` and export what it prints")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: os.Getenv("PULSAR_URL"),
		AdminURL: os.Getenv("PULSAR_ADMIN_URL"), Logger: zap.NewNop()})
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
