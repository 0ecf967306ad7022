package kafka

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// producerIDs hands out producer ids and checks idempotent sequences.
//
// Ids are random 62-bit numbers: unique across gateways with no counter to
// coordinate. Sequences are checked in memory, per (producer id,
// partition), as Kafka does. The last durable sequence and the offset of
// its batch are saved to shared state, coalesced every seqFlushInterval;
// what a crash keeps from that table is rebuilt from the partition itself,
// as Kafka rebuilds producer state from its log: a gateway that first sees
// a (producer id, partition) reads the partition from the saved offset to
// its end and takes the newest batches of that producer it finds (batches
// carry their producer id and sequences: in their own header where the
// backend keeps them whole, else in the tag they were stored with). A
// (producer id, partition) with no record yet gets one, with the
// partition's end, before its first batch is written, so that scan always
// has a start.
type producerIDs struct {
	b     bridge.Backend
	table bridge.StateTable
	log   *zap.Logger
	// rangeOf is a partition's range as readers see it: a scan cannot
	// read past records a store transaction holds back (storetxns.go).
	rangeOf func(ctx context.Context, partition string) (bridge.IndexRange, error)

	mu      sync.Mutex
	state   map[seqKey]*seqState
	dirty   map[seqKey]bool
	loading map[seqKey]chan struct{} // closed once the key's state is rebuilt

	stop, done chan struct{}
}

// producerTable is the bridge state table of producers' durable sequences.
const producerTable = "kafka-producers"

const (
	seqFlushInterval = 200 * time.Millisecond
	seqIdleTTL       = time.Hour // forget producers silent this long
	// scanLimit bounds the read that rebuilds a producer's state: at most
	// this many messages before the partition's end. A batch a client
	// retries was in flight when its gateway died; past this many later
	// messages the saved state is taken as it is.
	scanLimit   = 1_000_000
	scanTimeout = 30 * time.Second
)

type seqKey struct {
	pid       int64
	partition string
}

func (k seqKey) String() string { return strconv.FormatInt(k.pid, 10) + "\x00" + k.partition }

// seqState remembers the last batches of one producer on one partition, so
// a retried batch is answered with its first offset instead of being
// written twice.
type seqState struct {
	epoch      int16
	lastSeq    int32 // of the newest batch handed to the backend
	durableSeq int32 // of the newest batch known durable; -1 none
	// index is the first offset of the newest batch known durable, or,
	// before one, the partition's end when the producer was first seen:
	// where a scan for its batches starts.
	index  int64
	recent []*seqBatch
	used   time.Time
}

type seqBatch struct {
	first, last int32
	done        chan struct{} // closed when result is set
	result      sendResult
}

const recentBatches = 5 // Kafka's max.in.flight for idempotence

func newProducerIDs(ctx context.Context, b bridge.Backend, rangeOf func(context.Context, string) (bridge.IndexRange, error), log *zap.Logger, every time.Duration) (*producerIDs, error) {
	if every <= 0 {
		every = seqFlushInterval
	}
	t, err := b.State(ctx, producerTable)
	if err != nil {
		return nil, err
	}
	p := &producerIDs{
		b: b, table: t, log: log, rangeOf: rangeOf,
		state: map[seqKey]*seqState{}, dirty: map[seqKey]bool{}, loading: map[seqKey]chan struct{}{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.flushLoop(every)
	return p, nil
}

func (p *producerIDs) newID() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 2)
}

// lastOf is the sequence of a batch's last record; sequences wrap to 0.
func lastOf(first int32, n int) int32 {
	if int64(first)+int64(n)-1 > math.MaxInt32 {
		return int32(int64(first) + int64(n) - 1 - math.MaxInt32 - 1)
	}
	return first + int32(n) - 1
}

// check admits a batch. It returns the batch to complete after sending, or
// the earlier batch this one duplicates, or a Kafka error.
func (p *producerIDs) check(partition string, b *recordbatch.Batch) (entry *seqBatch, dup bool, err error) {
	last := lastOf(b.FirstSequence, b.NumRecords)
	key := seqKey{b.ProducerID, partition}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.state[key]
	switch {
	case s == nil:
		// Not rebuilt (recover failed over to here): a new producer.
		s = &seqState{epoch: b.ProducerEpoch, lastSeq: -1, durableSeq: -1, index: -1}
		p.state[key] = s
	case b.ProducerEpoch < s.epoch:
		return nil, false, kerr.InvalidProducerEpoch
	case b.ProducerEpoch > s.epoch:
		if b.FirstSequence != 0 {
			return nil, false, kerr.OutOfOrderSequenceNumber
		}
		*s = seqState{epoch: b.ProducerEpoch, lastSeq: -1, durableSeq: -1, index: s.index}
	default:
		for _, r := range s.recent {
			if r.first == b.FirstSequence && r.last == last {
				return r, true, nil
			}
		}
		switch {
		case len(s.recent) == 0 && s.durableSeq >= 0 && b.FirstSequence <= s.durableSeq && s.durableSeq-b.FirstSequence < math.MaxInt32/2:
			// Written through another gateway: known durable, offset unknown
			// here. Clients take this code as success.
			return nil, false, kerr.DuplicateSequenceNumber
		case len(s.recent) == 0:
			// State loaded from the table may lag: accept what follows it.
		case b.FirstSequence != nextSeq(s.lastSeq):
			return nil, false, kerr.OutOfOrderSequenceNumber
		}
	}
	s.used = time.Now()
	entry = &seqBatch{first: b.FirstSequence, last: last, done: make(chan struct{})}
	s.lastSeq = last
	s.recent = append(s.recent, entry)
	if len(s.recent) > recentBatches {
		s.recent = s.recent[1:]
	}
	return entry, false, nil
}

// complete records a batch's outcome. A failed batch is forgotten and the
// expected sequence goes back to it, so the client's retry is accepted.
func (p *producerIDs) complete(partition string, pid int64, e *seqBatch, res sendResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.result = res
	close(e.done)
	key := seqKey{pid, partition}
	s := p.state[key]
	if s == nil {
		return
	}
	if res.err == nil {
		// Completions may arrive out of order: offsets say which is newer.
		if res.base >= s.index {
			s.durableSeq, s.index = e.last, res.base
			p.dirty[key] = true
		}
		return
	}
	for i, r := range s.recent {
		if r == e {
			s.recent = s.recent[:i]
			s.lastSeq = e.first - 1
			break
		}
	}
}

func nextSeq(s int32) int32 {
	if s == math.MaxInt32 {
		return 0
	}
	return s + 1
}

// flushLoop writes durable sequences to shared state, coalesced, and
// forgets producers that went quiet.
func (p *producerIDs) flushLoop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.flush()
			return
		case <-t.C:
			p.flush()
		}
	}
}

func (p *producerIDs) flush() {
	p.mu.Lock()
	writes := make(map[string][]byte, len(p.dirty))
	for key := range p.dirty {
		s := p.state[key]
		if s == nil {
			continue
		}
		writes[key.String()] = s.record()
	}
	p.dirty = map[seqKey]bool{}
	for key, s := range p.state {
		if time.Since(s.used) > seqIdleTTL {
			delete(p.state, key)
		}
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for k, v := range writes {
		if err := p.table.Put(ctx, k, v); err != nil {
			p.log.Warn("saving an idempotent producer's sequence", zap.Error(err))
		}
	}
}

func (p *producerIDs) close() {
	close(p.stop)
	<-p.done
}

// abandon forgets what is not saved yet, as a gateway killed inside the
// save interval does (tests).
func (p *producerIDs) abandon() {
	p.mu.Lock()
	p.dirty = map[seqKey]bool{}
	p.mu.Unlock()
}
