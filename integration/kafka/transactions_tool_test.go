package kafka_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaTransactionsTool runs the class behind kafka-transactions.sh
// against the gateway: an open transaction is listed and described as
// Ongoing with its partition, and as CompleteCommit once committed.
func TestKafkaTransactionsTool(t *testing.T) {
	cp := kafkaToolsClasspath(t)
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic, tid := "txtool"+suffix, "txtool-id"+suffix
		tool := func(args ...string) string {
			t.Helper()
			return run(t, strings.NewReader(""), "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
				"-Dlog4j2.level=warn", "-cp", cp, "org.apache.kafka.tools.TransactionsCommand",
				"--bootstrap-server", addr}, args...)...)
		}
		p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(tid), kgo.DefaultProduceTopic(topic),
			kgo.AllowAutoTopicCreation())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		// TransactionalId Coordinator ProducerId TransactionState
		if out := tool("list"); !hasRow(out, tid, "Ongoing") {
			t.Errorf("list: want %s Ongoing, got\n%s", tid, out)
		}
		if out := tool("describe", "--transactional-id", tid); !hasRow(out, tid, "Ongoing") || !strings.Contains(out, topic+"-0") {
			t.Errorf("describe: want %s Ongoing on %s-0, got\n%s", tid, topic, out)
		}
		if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		if out := tool("describe", "--transactional-id", tid); !hasRow(out, tid, "CompleteCommit") {
			t.Errorf("describe after the commit: want %s CompleteCommit, got\n%s", tid, out)
		}
	})
}

// hasRow reports whether a row of a tool's table has a column id and a
// column want.
func hasRow(out, id, want string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if slices.Contains(f, id) && slices.Contains(f, want) {
			return true
		}
	}
	return false
}
