package kafka_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Kafka's own kafka-consumer-groups tool gives the same whole-group answer
// from every gateway: one group, a member on each of two gateway processes
// on one Pulsar, described through either gateway.
func TestConsumerGroupsToolAcrossGateways(t *testing.T) {
	if os.Getenv("PULSAR_URL") == "" {
		t.Skip("needs PULSAR_URL and PULSAR_ADMIN_URL: several gateways share a Pulsar")
	}
	cp := kafkaToolsClasspath(t)
	addrs := []string{startGateway(t, "pulsar"), startGateway(t, "pulsar")}
	suffix := fmt.Sprintf("-%x", time.Now().UnixNano())
	topic, group := "many-groups"+suffix, "many-g"+suffix

	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs[0]), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	java := func(class string, args ...string) string {
		t.Helper()
		return run(t, strings.NewReader(""), "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
			"-Dlog4j2.level=warn", "-cp", cp, class}, args...)...)
	}
	java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", addrs[0], "--create", "--topic", topic, "--partitions", "4")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range 40 {
		if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	var read atomic.Int64
	for _, addr := range addrs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		go func() {
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				read.Add(int64(fs.NumRecords()))
				cl.CommitUncommittedOffsets(ctx)
			}
		}()
	}

	// Rows GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID ...,
	// once every record is read, committed, and both members hold partitions.
	describe := func(addr string) []string {
		out := java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
			"--bootstrap-server", addr, "--describe", "--group", group)
		var rows []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 7 && f[0] == group && f[1] == topic {
				rows = append(rows, strings.Join(f[:7], " "))
			}
		}
		slices.Sort(rows)
		return rows
	}
	settled := func(rows []string) bool {
		members := map[string]bool{}
		for _, r := range rows {
			f := strings.Fields(r)
			if f[5] != "0" || f[6] == "-" {
				return false
			}
			members[f[6]] = true
		}
		return len(rows) == 4 && len(members) == 2
	}
	var first []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		if first = describe(addrs[0]); read.Load() >= 40 && settled(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d of 40; gateway 1 describes the group as\n%s", read.Load(), strings.Join(first, "\n"))
		}
	}
	if second := describe(addrs[1]); !slices.Equal(first, second) {
		t.Fatalf("the gateways describe the group differently:\n%s\n--- and ---\n%s", strings.Join(first, "\n"), strings.Join(second, "\n"))
	}
	for i, addr := range addrs {
		out := java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server", addr, "--list")
		if !slices.Contains(strings.Fields(out), group) {
			t.Errorf("gateway %d lists groups %q, without %s", i+1, out, group)
		}
	}
}
