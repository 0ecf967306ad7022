// Package txnindex works out, from a partition written by Kafka producers,
// which of its records belong to Kafka transactions still open, which to
// aborted ones and which are committed, so that every reader of the
// partition can leave out what Kafka's read_committed leaves out, on every
// gateway alike: the partition itself is the record. The Kafka handler
// (read_committed Fetch) and the MQTT handler (subscribers of a topic Kafka
// transactions write to) use it; docs/transactions.md has the design.
//
// A transactional unit is a stored Kafka batch whose header has the
// transactional bit (a backend that keeps batches whole, bridge.RawReader),
// or a message whose batch tag (bridge.TaggedProducer) says kafkatx: (data)
// or kafkactl: (a commit or abort marker).
package txnindex

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// Batch tag prefixes of transactional units.
const (
	DataTag    = "kafkatx:"  // kafkatx:pid:epoch:firstseq:lastseq
	ControlTag = "kafkactl:" // kafkactl:pid:epoch:commit|abort
)

// Unit is what a stored unit says of transactions.
type Unit struct {
	PID     int64
	Epoch   int16
	Control bool
	Commit  bool // of a control unit: a commit marker
}

// ControlTagOf is the tag of a marker.
func ControlTagOf(pid int64, epoch int16, commit bool) string {
	outcome := "abort"
	if commit {
		outcome = "commit"
	}
	return ControlTag + strconv.FormatInt(pid, 10) + ":" + strconv.Itoa(int(epoch)) + ":" + outcome
}

// ParseTag reads a unit's batch tag; false for a tag of no transaction.
func ParseTag(tag string) (Unit, bool) {
	var u Unit
	rest, ok := strings.CutPrefix(tag, DataTag)
	if !ok {
		if rest, ok = strings.CutPrefix(tag, ControlTag); !ok {
			return u, false
		}
		u.Control = true
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 3 {
		return u, false
	}
	pid, err1 := strconv.ParseInt(parts[0], 10, 64)
	epoch, err2 := strconv.ParseInt(parts[1], 10, 16)
	if err1 != nil || err2 != nil {
		return u, false
	}
	u.PID, u.Epoch = pid, int16(epoch)
	u.Commit = u.Control && parts[2] == "commit"
	return u, true
}

// ParseRaw reads a stored Kafka batch's header; false for a batch of no
// transaction.
func ParseRaw(d []byte) (Unit, bool) {
	if len(d) < recordbatch.HeaderSize {
		return Unit{}, false
	}
	be := binary.BigEndian
	attrs := be.Uint16(d[21:])
	if attrs&recordbatch.AttrTransactional == 0 {
		return Unit{}, false
	}
	u := Unit{PID: int64(be.Uint64(d[43:])), Epoch: int16(be.Uint16(d[51:]))}
	if attrs&recordbatch.AttrControl != 0 {
		u.Control = true
		b, err := recordbatch.Parse(d)
		if err != nil {
			return Unit{}, false
		}
		_ = b.Each(func(r *recordbatch.Record) error {
			u.Commit = len(r.Key) >= 4 && r.Key[3] == 1
			return nil
		})
	}
	return u, true
}

// Indexes keeps one Index per partition.
type Indexes struct {
	b  bridge.Backend
	mu sync.Mutex
	m  map[string]*Index
}

func New(b bridge.Backend) *Indexes {
	return &Indexes{b: b, m: map[string]*Index{}}
}

// Get returns partition's index, created unread.
func (x *Indexes) Get(partition string) *Index {
	x.mu.Lock()
	defer x.mu.Unlock()
	ix := x.m[partition]
	if ix == nil {
		ix = &Index{b: x.b, name: partition, open: map[int64]int64{}, aborted: map[int64][]span{}, epochs: map[int64]int16{}}
		x.m[partition] = ix
	}
	return ix
}

// Has reports whether partition's index exists.
func (x *Indexes) Has(partition string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.m[partition] != nil
}

// Close closes every index's reader.
func (x *Indexes) Close() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, ix := range x.m {
		ix.mu.Lock()
		if ix.r != nil {
			ix.r.Close()
			ix.r = nil
		}
		ix.mu.Unlock()
	}
	x.m = map[string]*Index{}
}

type span struct{ first, last int64 }

// Index is one partition's transactions as read so far.
type Index struct {
	b    bridge.Backend
	name string

	mu      sync.Mutex
	r       bridge.Reader
	next    int64            // read below this
	open    map[int64]int64  // producer id -> its open transaction's first offset
	aborted map[int64][]span // producer id -> aborted ranges, in order
	epochs  map[int64]int16  // producer id -> epoch of its last marker
}

// Advance reads the partition up to (not including) upTo and returns the
// last stable offset as of there: below it, every transaction has ended.
func (ix *Index) Advance(ctx context.Context, upTo int64) (int64, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for ix.next < upTo {
		if ix.r == nil {
			r, err := ix.b.CreateReader(ctx, bridge.ReaderOptions{Topic: ix.name, Start: bridge.StartAtIndex(ix.next), Batches: true})
			if err != nil {
				return 0, err
			}
			ix.r = r
		}
		if err := ix.readOnce(ctx); err != nil {
			ix.r.Close()
			ix.r = nil
			return 0, err
		}
	}
	return ix.lsoLocked(), nil
}

// readOnce takes in what the reader returns next.
func (ix *Index) readOnce(ctx context.Context) error {
	switch r := ix.r.(type) {
	case bridge.RawReader:
		m, rb, err := r.NextRaw(ctx)
		if err != nil {
			return err
		}
		if rb != nil {
			u, txn := ParseRaw(rb.Data)
			ix.note(u, txn, rb.First, rb.First+int64(rb.Count)-1)
		} else {
			ix.note(Unit{}, false, m.Index, m.Index)
		}
	case bridge.BatchReader:
		ms, err := r.NextBatch(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			u, txn := ParseTag(m.BatchTag)
			ix.note(u, txn, m.Index, m.Index)
		}
	default:
		m, err := ix.r.Next(ctx)
		if err != nil {
			return err
		}
		ix.note(Unit{}, false, m.Index, m.Index)
	}
	return nil
}

func (ix *Index) lsoLocked() int64 {
	lso := ix.next
	for _, first := range ix.open {
		lso = min(lso, first)
	}
	return lso
}

// note takes in one stored unit holding offsets first to last.
func (ix *Index) note(u Unit, txn bool, first, last int64) {
	if last < ix.next {
		return // a reader may start before
	}
	first = max(first, ix.next)
	ix.next = last + 1
	if !txn {
		return
	}
	if !u.Control {
		if e, ok := ix.epochs[u.PID]; ok && u.Epoch < e {
			// A fenced producer's write after its transaction's marker
			// (Kafka's partition leader refuses it): never committed.
			ix.aborted[u.PID] = append(ix.aborted[u.PID], span{first, last})
			return
		}
		if _, ok := ix.open[u.PID]; !ok {
			ix.open[u.PID] = first
		}
		return
	}
	ix.epochs[u.PID] = max(ix.epochs[u.PID], u.Epoch)
	start, ok := ix.open[u.PID]
	if !ok {
		return // a marker written again (a retried end)
	}
	delete(ix.open, u.PID)
	if !u.Commit {
		ix.aborted[u.PID] = append(ix.aborted[u.PID], span{start, last})
	}
}

// Aborted reports whether a transactional record of pid at offset belongs
// to an aborted transaction; the index must have read past it.
func (ix *Index) Aborted(pid, offset int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.abortedLocked(pid, offset)
}

func (ix *Index) abortedLocked(pid, offset int64) bool {
	for _, r := range ix.aborted[pid] {
		if r.first <= offset && offset <= r.last {
			return true
		}
	}
	return false
}

// Outcome is what became of a transactional record.
type Outcome int

const (
	Pending Outcome = iota // its transaction is open, or the index has not read it
	Committed
	Aborted
)

// OutcomeOf tells what became of pid's record at offset, as read so far.
func (ix *Index) OutcomeOf(pid, offset int64) Outcome {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	switch {
	case offset >= ix.next:
		return Pending
	case ix.abortedLocked(pid, offset):
		return Aborted
	}
	if first, open := ix.open[pid]; open && first <= offset {
		return Pending
	}
	return Committed
}
