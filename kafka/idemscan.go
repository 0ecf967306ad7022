package kafka

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// A producer's record in the table kafka-producers: epoch, durable
// sequence (-1: none yet) and the offset a scan for its batches starts at.
// Records of 6 bytes (no offset) were written before scans existed.
func (s *seqState) record() []byte {
	v := binary.BigEndian.AppendUint16(nil, uint16(s.epoch))
	v = binary.BigEndian.AppendUint32(v, uint32(s.durableSeq))
	return binary.BigEndian.AppendUint64(v, uint64(s.index))
}

func parseRecord(v []byte) (*seqState, bool) {
	if len(v) != 6 && len(v) != 14 {
		return nil, false
	}
	s := &seqState{epoch: int16(binary.BigEndian.Uint16(v)), durableSeq: int32(binary.BigEndian.Uint32(v[2:])), index: -1}
	if len(v) == 14 {
		s.index = int64(binary.BigEndian.Uint64(v[6:]))
	}
	s.lastSeq = s.durableSeq
	return s, true
}

// batchTag labels a stored Kafka batch with its producer and sequences
// (bridge.TaggedProducer), for backends that do not keep the batch whole;
// a transactional batch as such when markers say how it ended.
func batchTag(b *recordbatch.Batch, markers bool) string {
	if b.ProducerID < 0 {
		return ""
	}
	prefix := "kafka:"
	if b.Transactional() && markers {
		prefix = txnindex.DataTag // what read_committed readers look for (txnindex.go)
	}
	return prefix + strconv.FormatInt(b.ProducerID, 10) + ":" + strconv.Itoa(int(b.ProducerEpoch)) + ":" +
		strconv.Itoa(int(b.FirstSequence)) + ":" + strconv.Itoa(int(lastOf(b.FirstSequence, b.NumRecords)))
}

// foundBatch is a stored batch of one producer.
type foundBatch struct {
	epoch       int16
	first, last int32
	base        int64
}

func parseTag(tag string) (pid int64, f foundBatch, ok bool) {
	rest, ok := strings.CutPrefix(tag, "kafka:")
	if !ok {
		if rest, ok = strings.CutPrefix(tag, txnindex.DataTag); !ok {
			return 0, f, false
		}
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 4 {
		return 0, f, false
	}
	var n [4]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, f, false
		}
		n[i] = v
	}
	return n[0], foundBatch{epoch: int16(n[1]), first: int32(n[2]), last: int32(n[3])}, true
}

// recover makes the state of b's producer on partition known before b is
// checked: from memory, else rebuilt from the table and the partition.
// Callers of one key wait for one rebuild.
func (p *producerIDs) recover(ctx context.Context, partition string, b *recordbatch.Batch) error {
	key := seqKey{b.ProducerID, partition}
	for {
		p.mu.Lock()
		if _, ok := p.state[key]; ok {
			p.mu.Unlock()
			return nil
		}
		if ch, ok := p.loading[key]; ok {
			p.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ch := make(chan struct{})
		p.loading[key] = ch
		p.mu.Unlock()

		s, err := p.rebuild(ctx, key, b.ProducerEpoch)
		p.mu.Lock()
		delete(p.loading, key)
		if err == nil {
			s.used = time.Now()
			p.state[key] = s
		}
		p.mu.Unlock()
		close(ch)
		return err
	}
}

// rebuild finds a producer's state on a partition: its record, then the
// newest batches of it stored from the record's offset on. A producer with
// no record is new here: its record, with the partition's end, is saved
// before its first batch can be written.
func (p *producerIDs) rebuild(ctx context.Context, key seqKey, epoch int16) (*seqState, error) {
	v, ok := p.table.Get(key.String())
	if !ok {
		rng, err := p.rangeOf(ctx, key.partition)
		if err != nil {
			return nil, err
		}
		s := &seqState{epoch: epoch, lastSeq: -1, durableSeq: -1, index: rng.Next}
		if err := p.table.Put(ctx, key.String(), s.record()); err != nil {
			return nil, err
		}
		return s, nil
	}
	s, ok := parseRecord(v)
	if !ok || s.index < 0 {
		// Unreadable or from before scans: taken as it is, as before.
		if !ok {
			s = &seqState{epoch: epoch, lastSeq: -1, durableSeq: -1, index: -1}
		}
		return s, nil
	}
	found, err := p.scan(ctx, key, s.index)
	if err != nil || len(found) == 0 {
		return s, err
	}
	newest := found[len(found)-1]
	if newest.epoch < s.epoch {
		return s, nil
	}
	s = &seqState{epoch: newest.epoch, lastSeq: newest.last, durableSeq: newest.last, index: newest.base}
	for _, f := range found {
		if f.epoch == newest.epoch {
			done := make(chan struct{})
			close(done)
			s.recent = append(s.recent, &seqBatch{first: f.first, last: f.last, done: done, result: sendResult{base: f.base}})
		}
	}
	return s, nil
}

// scan reads a partition from offset from (at most scanLimit messages
// before its end) to its end and returns the last recentBatches batches
// of key's producer, oldest first. A batch stored as several units (a
// tagged batch split at the backend's entry bounds) is found once, at its
// first offset.
func (p *producerIDs) scan(ctx context.Context, key seqKey, from int64) ([]foundBatch, error) {
	rng, err := p.rangeOf(ctx, key.partition)
	if err != nil {
		return nil, err
	}
	from = max(from, rng.First, rng.Next-scanLimit)
	if from >= rng.Next {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	r, err := p.b.CreateReader(ctx, bridge.ReaderOptions{Topic: key.partition, Start: bridge.StartAtIndex(from), Batches: true})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var found []foundBatch
	add := func(f foundBatch) {
		if n := len(found); n > 0 && found[n-1].epoch == f.epoch && found[n-1].first == f.first && found[n-1].last == f.last {
			return // the same batch's next unit
		}
		found = append(found, f)
		if len(found) > recentBatches {
			found = found[1:]
		}
	}
	for pos := from; pos < rng.Next; {
		switch rd := r.(type) {
		case bridge.RawReader:
			m, rb, err := rd.NextRaw(ctx)
			if err != nil {
				return nil, err
			}
			if rb == nil {
				pos = m.Index + 1
				continue
			}
			pos = rb.First + int64(rb.Count)
			if b, err := recordbatch.Parse(rb.Data); err == nil && b.ProducerID == key.pid {
				add(foundBatch{epoch: b.ProducerEpoch, first: b.FirstSequence, last: lastOf(b.FirstSequence, b.NumRecords), base: rb.First})
			}
		case bridge.BatchReader:
			ms, err := rd.NextBatch(ctx)
			if err != nil {
				return nil, err
			}
			pos = ms[len(ms)-1].Index + 1
			if pid, f, ok := parseTag(ms[0].BatchTag); ok && pid == key.pid {
				f.base = ms[0].Index
				add(f)
			}
		default:
			// No stored unit to learn a producer from: nothing to find.
			return nil, nil
		}
	}
	return found, nil
}
