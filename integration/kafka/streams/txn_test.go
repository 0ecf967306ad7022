package streams_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestJavaTransactionalProducer runs Kafka's Java producer through abort,
// commit and fencing by a second producer with the same transactional.id
// (testdata/TxnProducer.java asserts each step, ProducerFencedException
// included), then reads the topic as a read_committed consumer: the two
// committed transactions must be there once each, and nothing of the
// aborted one or of the one the fencing aborted.
func TestJavaTransactionalProducer(t *testing.T) {
	eachTarget(t, func(t *testing.T, bootstrap, failover, suffix string) {
		topic := "txn" + suffix
		createTopic(t, bootstrap, topic, 2)
		start := time.Now()
		p := startJava(t, "txn-producer", "TxnProducer", bootstrap, topic, "txn-id"+suffix, failover)
		select {
		case <-p.done:
		case <-time.After(60 * time.Second):
			p.failf("the transactional producer did not end within 60 s (steps done: %q)", steps(p.output()))
		}
		if !strings.Contains(p.output(), "\nOK\n") {
			p.failf("the transactional producer did not finish (steps done: %q)", steps(p.output()))
		}
		t.Logf("producer steps done in %v", time.Since(start).Round(time.Millisecond))

		cl := newClient(t, failover, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		var quietSince time.Time
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			fs := cl.PollFetches(ctx)
			cancel()
			n := 0
			fs.EachRecord(func(r *kgo.Record) { n++; got = append(got, string(r.Value)) })
			// Stop a quiet second after the 20 committed records, so that
			// records that must not be there have had their chance.
			switch {
			case len(got) < 20 || n > 0:
				quietSince = time.Time{}
			case quietSince.IsZero():
				quietSince = time.Now()
			case time.Since(quietSince) > time.Second:
				deadline = time.Now()
			}
		}
		var want []string
		for _, prefix := range []string{"committed", "second"} {
			for i := range 10 {
				want = append(want, prefix+"-"+string(rune('0'+i)))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("read_committed consumer read %d records %v, want the 20 committed ones once each: %v", len(got), got, want)
		}
	})
}

// steps are the STEP lines TxnProducer printed.
func steps(out string) []string {
	var s []string
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "STEP "); ok {
			s = append(s, rest)
		}
	}
	return s
}
