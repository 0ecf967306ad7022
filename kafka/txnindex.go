package kafka

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// What read_committed needs of a partition, worked out from the partition
// itself, so every gateway gets the same answer: the transactions still
// open (their first offsets bound the last stable offset) and the record
// ranges of aborted ones. A gateway builds it for a partition the first
// time a read_committed reader needs it there, reading from the earliest
// offset, then follows the partition as readers ask for more.
//
// Aborted records are left out of a read_committed Fetch by the gateway
// itself, and control batches are returned so consumers move past them;
// the aborted-transaction list of the answer stays empty. So a batch of a
// fenced producer that landed after its transaction's abort marker (the
// zombie's write racing the abort) is left out too, which Kafka prevents
// by refusing the write on the partition leader.

type txnIndexes struct {
	b  bridge.Backend
	mu sync.Mutex
	m  map[string]*txnIndex
}

func newTxnIndexes(b bridge.Backend) *txnIndexes {
	return &txnIndexes{b: b, m: map[string]*txnIndex{}}
}

// get returns partition's index, created unread.
func (x *txnIndexes) get(partition string) *txnIndex {
	x.mu.Lock()
	defer x.mu.Unlock()
	ix := x.m[partition]
	if ix == nil {
		ix = &txnIndex{b: x.b, name: partition, open: map[int64]int64{}, aborted: map[int64][]offsetRange{}, epochs: map[int64]int16{}}
		x.m[partition] = ix
	}
	return ix
}

// has reports whether partition's index exists.
func (x *txnIndexes) has(partition string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.m[partition] != nil
}

func (x *txnIndexes) close() {
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
	x.m = map[string]*txnIndex{}
}

type offsetRange struct{ first, last int64 }

type txnIndex struct {
	b    bridge.Backend
	name string

	mu      sync.Mutex
	r       bridge.Reader
	next    int64                   // read below this
	open    map[int64]int64         // producer id -> its open transaction's first offset
	aborted map[int64][]offsetRange // producer id -> aborted ranges, in order
	epochs  map[int64]int16         // producer id -> epoch of its last marker
}

// advance reads the partition up to (not including) upTo and returns the
// last stable offset as of there.
func (ix *txnIndex) advance(ctx context.Context, upTo int64) (int64, error) {
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
		fs, err := readUnits(ctx, ix.r)
		if err != nil {
			ix.r.Close()
			ix.r = nil
			return 0, err
		}
		for _, f := range fs {
			if f.last() < ix.next {
				continue
			}
			ix.note(f)
			ix.next = f.last() + 1
		}
	}
	return ix.lsoLocked(), nil
}

func (ix *txnIndex) lsoLocked() int64 {
	lso := ix.next
	for _, first := range ix.open {
		lso = min(lso, first)
	}
	return lso
}

// note takes in one stored unit.
func (ix *txnIndex) note(f fetched) {
	u, ok := txnUnitOf(f)
	if !ok {
		return
	}
	first := f.last()
	if f.rb != nil {
		first = f.rb.First
	}
	if !u.control {
		if e, ok := ix.epochs[u.pid]; ok && u.epoch < e {
			ix.aborted[u.pid] = append(ix.aborted[u.pid], offsetRange{first, f.last()})
			return
		}
		if _, ok := ix.open[u.pid]; !ok {
			ix.open[u.pid] = first
		}
		return
	}
	ix.epochs[u.pid] = max(ix.epochs[u.pid], u.epoch)
	start, ok := ix.open[u.pid]
	if !ok {
		return // a marker written again (a retried end)
	}
	delete(ix.open, u.pid)
	if !u.commit {
		ix.aborted[u.pid] = append(ix.aborted[u.pid], offsetRange{start, f.last()})
	}
}

// isAborted reports whether a transactional unit at offset belongs to an
// aborted transaction (the index has read past it).
func (ix *txnIndex) isAborted(pid, offset int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, r := range ix.aborted[pid] {
		if r.first <= offset && offset <= r.last {
			return true
		}
	}
	return false
}

// txnUnit is what a stored unit says of transactions.
type txnUnit struct {
	pid     int64
	epoch   int16
	control bool
	commit  bool
}

// txnUnitOf reads a stored unit's transactional identity: a kept batch's
// header, or a message's batch tag.
func txnUnitOf(f fetched) (txnUnit, bool) {
	if f.rb != nil {
		d := f.rb.Data
		if len(d) < recordbatch.HeaderSize {
			return txnUnit{}, false
		}
		be := binary.BigEndian
		attrs := be.Uint16(d[21:])
		if attrs&recordbatch.AttrTransactional == 0 {
			return txnUnit{}, false
		}
		u := txnUnit{pid: int64(be.Uint64(d[43:])), epoch: int16(be.Uint16(d[51:]))}
		if attrs&recordbatch.AttrControl != 0 {
			u.control = true
			b, err := recordbatch.Parse(d)
			if err != nil {
				return txnUnit{}, false
			}
			_ = b.Each(func(r *recordbatch.Record) error {
				u.commit = len(r.Key) >= 4 && r.Key[3] == 1
				return nil
			})
		}
		return u, true
	}
	if f.m == nil {
		return txnUnit{}, false
	}
	return parseTxnTag(f.m.BatchTag)
}

// parseTxnTag reads kafkatx:pid:epoch:first:last and
// kafkactl:pid:epoch:commit|abort.
func parseTxnTag(tag string) (txnUnit, bool) {
	var u txnUnit
	rest, ok := strings.CutPrefix(tag, txnDataTag)
	if !ok {
		if rest, ok = strings.CutPrefix(tag, txnControlTag); !ok {
			return u, false
		}
		u.control = true
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
	u.pid, u.epoch = pid, int16(epoch)
	u.commit = u.control && parts[2] == "commit"
	return u, true
}
