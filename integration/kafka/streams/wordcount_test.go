package streams_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStreamsWordCountExactlyOnce runs Kafka Streams' word count with
// exactly_once_v2, SIGKILLs it while input still arrives, restarts it, and
// checks what exactly-once promises a read_committed reader: every word's
// counts go up by one (no update repeated or lost), none passes the word's
// real total, and the last one is the real total. A lost or repeated
// transaction breaks one of the three.
func TestStreamsWordCountExactlyOnce(t *testing.T) {
	eachTarget(t, func(t *testing.T, bootstrap, failover, suffix string) {
		const lines, early = 3000, 1000
		in, out, app := "wc-in"+suffix, "wc-out"+suffix, "wc"+suffix
		createTopic(t, bootstrap, in, 2)
		createTopic(t, bootstrap, out, 2)

		words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet " +
			"kilo lima mike november oscar papa quebec romeo sierra tango")
		rng := rand.New(rand.NewSource(1))
		input := make([]string, lines)
		want := map[string]int64{}
		for i := range input {
			n := 1 + rng.Intn(6)
			ws := make([]string, n)
			for j := range ws {
				ws[j] = words[rng.Intn(len(words))]
				want[ws[j]]++
			}
			input[i] = strings.Join(ws, " ")
		}

		prod := newClient(t, bootstrap, kgo.DefaultProduceTopic(in))
		produce := func(from, to int) {
			recs := make([]*kgo.Record, 0, to-from)
			for i := from; i < to; i++ {
				recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(input[i])})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Errorf("produce lines %d-%d: %v", from, to, err)
			}
		}
		produce(0, early)

		adm := kadm.NewClient(newClient(t, bootstrap))
		stateDir := filepath.Join(t.TempDir(), "state")
		start := time.Now()
		first := startJava(t, "wordcount-1", "WordCount", bootstrap, app, in, out, stateDir)
		waitFor(t, first, 60*time.Second, "output of the first run", func() bool {
			for _, end := range endOffsets(t, adm, out) {
				if end > 0 {
					return true
				}
			}
			return false
		})
		t.Logf("first run: output after %v", time.Since(start).Round(time.Millisecond))

		// The rest of the input arrives while the app is killed and restarted.
		produced := make(chan struct{})
		// A failure below must not end the test while the producer logs.
		defer func() { <-produced }()
		go func() {
			defer close(produced)
			for i := early; i < lines; i += 100 {
				produce(i, i+100)
				time.Sleep(100 * time.Millisecond)
			}
		}()
		time.Sleep(700 * time.Millisecond)
		first.kill()
		if !strings.Contains(first.output(), "STATE RUNNING") {
			t.Fatalf("killed the first run before it was RUNNING:%s", first.tail(20))
		}
		restart := time.Now()
		second := startJava(t, "wordcount-2", "WordCount", failover, app, in, out, stateDir)
		<-produced
		if t.Failed() {
			return
		}
		// Streams commits the input offsets in the transaction of the output
		// they produced: the group at the input's end means all output is in.
		// Minutes, not one: on Pulsar's transactions each partition takes one
		// transactional entry at a time (docs/transactions.md).
		waitFor(t, second, 3*time.Minute, "input consumed to its end after the restart", func() bool {
			return groupCaughtUp(t, adm, app, in)
		})
		t.Logf("second run: all input consumed %v after the restart", time.Since(restart).Round(time.Millisecond))

		// The input consumed is not yet all output: the sub-topology after
		// the repartition may still be counting. Read until every word's
		// count is in (or the time is up, and the checks below say what).
		var counts map[string][]int64
		var committed int
		caughtUp := time.Now()
		for deadline := caughtUp.Add(3 * time.Minute); ; {
			counts, committed = readCounts(t, bootstrap, out, want, kgo.ReadCommitted())
			if countsComplete(counts, want) || time.Now().After(deadline) {
				break
			}
		}
		t.Logf("output read with read_committed %v after the input was consumed", time.Since(caughtUp).Round(time.Millisecond))
		if _, all := readCounts(t, bootstrap, out, want, kgo.ReadUncommitted()); all > committed {
			// Not asserted: a store may well keep aborted records out of the log.
			t.Logf("the kill aborted a transaction: %d output records, %d of them committed", all, committed)
		}
		var problems []string
		for _, w := range words {
			seq := counts[w]
			// WordCount has no cache, so it sends every update: 1, 2, 3, ...
			for i, c := range seq {
				prev := int64(0)
				if i > 0 {
					prev = seq[i-1]
				}
				if c <= prev {
					problems = append(problems, fmt.Sprintf("%s: count %d after %d (a repeated update)", w, c, prev))
					break
				}
				if c != prev+1 {
					problems = append(problems, fmt.Sprintf("%s: count %d after %d (a lost update)", w, c, prev))
					break
				}
			}
			if len(seq) == 0 || seq[len(seq)-1] != want[w] {
				problems = append(problems, fmt.Sprintf("%s: last count %v, want %d (%d updates)", w, last(seq), want[w], len(seq)))
			}
			for _, c := range seq {
				if c > want[w] {
					problems = append(problems, fmt.Sprintf("%s: count %d above the real total %d", w, c, want[w]))
					break
				}
			}
		}
		if len(problems) > 0 {
			sort.Strings(problems)
			t.Fatalf("word counts read with read_committed are not exactly once:\n%s", strings.Join(problems, "\n"))
		}
		if second.exited() {
			second.failf("the second run stopped")
		}
	})
}

func last(s []int64) any {
	if len(s) == 0 {
		return "none"
	}
	return s[len(s)-1]
}

// countsComplete reports whether every word's last count reached want.
func countsComplete(counts map[string][]int64, want map[string]int64) bool {
	for w, n := range want {
		if s := counts[w]; len(s) == 0 || s[len(s)-1] < n {
			return false
		}
	}
	return true
}

// readCounts reads the output topic from the start until every word reached
// its total (or 30 s passed), and a further quiet second, so that updates
// after the total are seen too; it returns each word's counts in order and
// how many records it read.
func readCounts(t *testing.T, bootstrap, topic string, want map[string]int64, isolation kgo.IsolationLevel) (map[string][]int64, int) {
	t.Helper()
	cl := newClient(t, bootstrap, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(isolation))
	counts := map[string][]int64{}
	records := 0
	complete := func() bool { return countsComplete(counts, want) }
	deadline := time.Now().Add(30 * time.Second)
	var quietSince time.Time
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(tp string, p int32, err error) {
			if err != context.DeadlineExceeded {
				t.Fatalf("fetch %s/%d: %v", tp, p, err)
			}
		})
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			records++
			if len(r.Value) != 8 {
				t.Fatalf("output record %s/%d@%d: value of %d bytes, want a long", r.Topic, r.Partition, r.Offset, len(r.Value))
			}
			w := string(r.Key)
			counts[w] = append(counts[w], int64(binary.BigEndian.Uint64(r.Value)))
		})
		switch {
		case !complete() || n > 0:
			quietSince = time.Time{}
		case quietSince.IsZero():
			quietSince = time.Now()
		case time.Since(quietSince) > time.Second:
			return counts, records
		}
	}
	return counts, records
}
