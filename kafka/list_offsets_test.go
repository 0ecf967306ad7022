package kafka

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestListOffsets(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "lo", 1)
	adm := kadm.NewClient(cl)
	produceN(t, cl, "lo", 5)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	produceN(t, cl, "lo", 5)

	check := func(name string, got kadm.ListedOffsets, err error, want int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		o, ok := got.Lookup("lo", 0)
		if !ok || o.Err != nil || o.Offset != want {
			t.Fatalf("%s: %+v, want offset %d", name, o, want)
		}
	}
	start, err := adm.ListStartOffsets(testCtx(t), "lo")
	check("start", start, err, 0)
	end, err := adm.ListEndOffsets(testCtx(t), "lo")
	check("end", end, err, 10)
	at, err := adm.ListOffsetsAfterMilli(testCtx(t), mid.UnixMilli()+1, "lo")
	check("by time", at, err, 5)

	// A consumer starting at the end sees only what comes after.
	cons := newClient(t, addr, kgo.ConsumeTopics("lo"), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	cons.PollFetches(shortCtx(t)) // joins at the end
	produceN(t, cl, "lo", 1)
	got := consume(t, cons, 1)
	if got[0].Offset != 10 {
		t.Fatalf("offset %d, want 10", got[0].Offset)
	}
}
