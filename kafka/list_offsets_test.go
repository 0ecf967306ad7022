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

// ListOffsets by time answers by the records' own timestamps, as Kafka
// does, also when producers stamp records well before they are published.
func TestListOffsetsByRecordTimestamp(t *testing.T) {
	addr := startGateway(t)
	cl := newClient(t, addr)
	createTopic(t, cl, "lots", 1)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 5 {
		r := &kgo.Record{Topic: "lots", Value: []byte("v"), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := kadm.NewClient(cl).ListOffsetsAfterMilli(testCtx(t), base.Add(2500*time.Millisecond).UnixMilli(), "lots")
	if err != nil {
		t.Fatal(err)
	}
	o, ok := got.Lookup("lots", 0)
	if !ok || o.Err != nil || o.Offset != 3 || o.Timestamp != base.Add(3*time.Second).UnixMilli() {
		t.Fatalf("by record timestamp: %+v, want offset 3 at %d", o, base.Add(3*time.Second).UnixMilli())
	}
	later, err := kadm.NewClient(cl).ListOffsetsAfterMilli(testCtx(t), time.Now().Add(time.Hour).UnixMilli(), "lots")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := later.Lookup("lots", 0); o.Err != nil || o.Offset != 5 {
		t.Fatalf("after every record: %+v, want the end offset 5 (kadm maps the -1 of no such record to it)", o)
	}
}
