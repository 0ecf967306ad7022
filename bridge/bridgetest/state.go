package bridgetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

func stateTests() []testCase {
	return []testCase{
		{"PutGetDelete", testStatePutGetDelete},
		{"Range", testStateRange},
		{"ValuesCopied", testStateValuesCopied},
		{"SecondHandle", testStateSecondHandle},
		{"TablesApart", testStateTablesApart},
		{"Watch", testStateWatch},
	}
}

// uniqueTable is a table name unique to the test, for shared brokers.
func uniqueTable(t *testing.T, name string) string { return uniqueLocal(t, name) }

func mustState(t *testing.T, h Harness, b bridge.Backend, table string) bridge.StateTable {
	t.Helper()
	st, err := b.State(waitCtx(t, h), table)
	if err != nil {
		t.Fatalf("State(%q): %v", table, err)
	}
	return st
}

func mustPut(t *testing.T, h Harness, st bridge.StateTable, key string, value []byte) {
	t.Helper()
	if err := st.Put(waitCtx(t, h), key, value); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// checkGet fails unless key holds want (nil: absent).
func checkGet(t *testing.T, st bridge.StateTable, key string, want []byte) {
	t.Helper()
	got, ok := st.Get(key)
	switch {
	case want == nil && ok:
		t.Errorf("Get(%q) = %q, want absent", key, got)
	case want != nil && !ok:
		t.Errorf("Get(%q) absent, want %q", key, want)
	case want != nil && !bytes.Equal(got, want):
		t.Errorf("Get(%q) = %q, want %q", key, got, want)
	}
}

// rangeAll collects Range(prefix) as key=value strings.
func rangeAll(st bridge.StateTable, prefix string) []string {
	var out []string
	st.Range(prefix, func(k string, v []byte) bool {
		out = append(out, k+"="+string(v))
		return true
	})
	return out
}

func testStatePutGetDelete(t *testing.T, h Harness) {
	b := newBackend(t, h)
	st := mustState(t, h, b, uniqueTable(t, "t"))
	checkGet(t, st, "missing", nil)
	mustPut(t, h, st, "a", []byte("1"))
	checkGet(t, st, "a", []byte("1"))
	mustPut(t, h, st, "a", []byte("2"))
	checkGet(t, st, "a", []byte("2"))
	// An empty value is a value; nil deletes.
	mustPut(t, h, st, "empty", []byte{})
	if v, ok := st.Get("empty"); !ok || len(v) != 0 {
		t.Errorf("Get of an empty value = %q, %v; want empty, true", v, ok)
	}
	mustPut(t, h, st, "a", nil)
	checkGet(t, st, "a", nil)
	mustPut(t, h, st, "b", []byte("x"))
	if err := st.Delete(waitCtx(t, h), "b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkGet(t, st, "b", nil)
	if err := st.Delete(waitCtx(t, h), "never"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	// Keys may hold any bytes a string can.
	odd := "k/with\x00nul/ünï"
	mustPut(t, h, st, odd, []byte{0, 0xff})
	checkGet(t, st, odd, []byte{0, 0xff})
	if got := rangeAll(st, ""); !slices.Equal(got, []string{"empty=", odd + "=\x00\xff"}) {
		t.Errorf("Range(\"\") = %q", got)
	}
}

func testStateRange(t *testing.T, h Harness) {
	b := newBackend(t, h)
	st := mustState(t, h, b, uniqueTable(t, "t"))
	for _, k := range []string{"g/2", "g/10", "g/1", "h/1", "g", "f/9", "g/1/x"} {
		mustPut(t, h, st, k, []byte(k))
	}
	want := []string{"g/1=g/1", "g/1/x=g/1/x", "g/10=g/10", "g/2=g/2"}
	if got := rangeAll(st, "g/"); !slices.Equal(got, want) {
		t.Errorf("Range(\"g/\") = %q, want %q (key order)", got, want)
	}
	var keys []string
	st.Range("", func(k string, _ []byte) bool { keys = append(keys, k); return true })
	if len(keys) != 7 || !slices.IsSorted(keys) {
		t.Errorf("Range(\"\") visited %q, want all 7 keys in order", keys)
	}
	if got := rangeAll(st, "zz"); len(got) != 0 {
		t.Errorf("Range(\"zz\") = %q, want none", got)
	}
	var seen []string
	st.Range("g", func(k string, _ []byte) bool {
		seen = append(seen, k)
		return len(seen) < 2
	})
	if !slices.Equal(seen, []string{"g", "g/1"}) {
		t.Errorf("Range stopping after 2 visited %q", seen)
	}
	mustPut(t, h, st, "g/1", nil)
	if got := rangeAll(st, "g/1"); !slices.Equal(got, []string{"g/1/x=g/1/x", "g/10=g/10"}) {
		t.Errorf("Range after deleting g/1 = %q", got)
	}
}

// The stored value is a copy of what Put got.
func testStateValuesCopied(t *testing.T, h Harness) {
	b := newBackend(t, h)
	st := mustState(t, h, b, uniqueTable(t, "t"))
	v := []byte("original")
	mustPut(t, h, st, "k", v)
	copy(v, "MUTATED!")
	checkGet(t, st, "k", []byte("original"))
	if got := rangeAll(st, "k"); !slices.Equal(got, []string{"k=original"}) {
		t.Errorf("Range after mutating the Put slice = %q", got)
	}
}

// Two handles on one table of one backend see each other's writes at once.
func testStateSecondHandle(t *testing.T, h Harness) {
	b := newBackend(t, h)
	table := uniqueTable(t, "t")
	s1 := mustState(t, h, b, table)
	mustPut(t, h, s1, "before", []byte("1"))
	s2 := mustState(t, h, b, table)
	checkGet(t, s2, "before", []byte("1"))
	mustPut(t, h, s1, "after", []byte("2"))
	checkGet(t, s2, "after", []byte("2"))
	mustPut(t, h, s2, "before", nil)
	checkGet(t, s1, "before", nil)
	if got := rangeAll(s2, ""); !slices.Equal(got, []string{"after=2"}) {
		t.Errorf("second handle Range = %q", got)
	}
}

func testStateTablesApart(t *testing.T, h Harness) {
	b := newBackend(t, h)
	s1 := mustState(t, h, b, uniqueTable(t, "one"))
	s2 := mustState(t, h, b, uniqueTable(t, "two"))
	mustPut(t, h, s1, "k", []byte("1"))
	checkGet(t, s2, "k", nil)
	if got := rangeAll(s2, ""); len(got) != 0 {
		t.Errorf("other table's Range = %q, want empty", got)
	}
}

// watcher records Watch calls.
type watcher struct {
	mu     sync.Mutex
	events []string
}

func (w *watcher) record(k string, v []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v == nil {
		w.events = append(w.events, k+" deleted")
	} else {
		w.events = append(w.events, k+"="+string(v))
	}
}

func (w *watcher) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// Watch sees every later change, from this handle or another, in order,
// and nothing after stop.
func testStateWatch(t *testing.T, h Harness) {
	b := newBackend(t, h)
	table := uniqueTable(t, "t")
	s1 := mustState(t, h, b, table)
	s2 := mustState(t, h, b, table)
	mustPut(t, h, s1, "pre", []byte("0"))
	w := &watcher{}
	stop := s1.Watch(w.record)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	mustPut(t, h, s1, "a", []byte("1"))
	mustPut(t, h, s2, "b", []byte("2"))
	mustPut(t, h, s1, "a", []byte("3"))
	if err := s2.Delete(waitCtx(t, h), "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustPut(t, h, s2, "b", nil)
	want := []string{"a=1", "b=2", "a=3", "a deleted", "b deleted"}
	eventually(t, h, func() string {
		if got := w.get(); !slices.Equal(got, want) {
			return fmt.Sprintf("Watch saw %q, want %q", got, want)
		}
		return ""
	})
	// A second watcher on another handle sees changes from the first.
	w2 := &watcher{}
	stop2 := s2.Watch(w2.record)
	defer stop2()
	stop()
	stopped = true
	mustPut(t, h, s1, "c", []byte("4"))
	eventually(t, h, func() string {
		if got := w2.get(); !slices.Equal(got, []string{"c=4"}) {
			return fmt.Sprintf("second Watch saw %q, want [c=4]", got)
		}
		return ""
	})
	time.Sleep(h.Quiet)
	if got := w.get(); !slices.Equal(got, want) {
		t.Errorf("Watch called after stop: saw %q", got)
	}
}
