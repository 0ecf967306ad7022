package pulsar

import "testing"

func TestPartialRecordRoundTrip(t *testing.T) {
	a := newAckBook()
	k := subKey{"persistent://public/default/t", "s"}
	for _, bi := range []int32{0, 2, 64, 99} {
		a.acked(k, pos{7, 3}, bi, 100)
	}
	a.acked(k, pos{7, 4}, 1, 2)
	a.acked(k, pos{7, 4}, 0, 2) // complete: not saved
	data, dirty := a.snapshot(k)
	if !dirty {
		t.Fatal("snapshot after acks: not dirty")
	}
	if _, again := a.snapshot(k); again {
		t.Error("second snapshot still dirty")
	}
	got := decodePartial(data)
	if len(got) != 1 || got[pos{7, 3}] == nil {
		t.Fatalf("decoded %v, want one entry 7:3", got)
	}
	if b := got[pos{7, 3}]; b.n != 100 || b.acked != 4 {
		t.Errorf("entry 7:3: n=%d acked=%d, want 100 and 4", b.n, b.acked)
	}

	// A new process loads it when it first touches the subscription.
	fresh := newAckBook()
	fresh.setLoader(func(subKey) map[pos]*batchAcks { return decodePartial(data) })
	if n := fresh.partialCount(k, pos{-1, -1}, nil); n != 4 {
		t.Errorf("loaded partial count = %d, want 4", n)
	}
	if n := fresh.partialCount(k, pos{7, 3}, nil); n != 0 {
		t.Errorf("entry at the mark-delete position counted: %d", n)
	}
	if n := fresh.partialCount(k, pos{-1, -1}, [][2]pos{{{7, 2}, {7, 3}}}); n != 0 {
		t.Errorf("entry inside a deleted range counted: %d", n)
	}
}

func FuzzDecodePartial(f *testing.F) {
	a := newAckBook()
	k := subKey{"t", "s"}
	a.acked(k, pos{1, 2}, 5, 70)
	rec, _ := a.snapshot(k)
	f.Add(rec)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		for p, b := range decodePartial(data) {
			if b.acked <= 0 || b.acked >= b.n || b.n > maxBatch {
				t.Fatalf("entry %v: acked %d of %d", p, b.acked, b.n)
			}
		}
	})
}
