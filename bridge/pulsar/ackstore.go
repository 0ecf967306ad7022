package pulsar

import (
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"time"

	"go.uber.org/zap"
)

// Partial batch acks (see ackBook) are saved in a state table when a
// consumer closes or a cursor moves, and loaded when this process first
// touches that subscription, so the backlog of a partly acknowledged batch
// stays exact across a gateway restart and on other gateways. The broker
// itself keeps those acks (acknowledgmentAtBatchIndexLevelEnabled) and is
// what decides redelivery; it only does not show them in its stats.
//
// Concurrent savers of one subscription (Shared consumers on two gateways)
// each write what they know, the last one wins: a record may then miss some
// acks of the other gateway, and the backlog counts those messages until
// their batch is complete. Never the other way: a stale record's entries at
// or before the mark-delete position, or inside a deleted range, are not
// counted (see partialCount).
const ackTableName = "_batch-acks"

// ackSaveBackoff is how long saves pause after one failed.
const ackSaveBackoff = 30 * time.Second

// ackRecordKey is one subscription on one partition.
func ackRecordKey(k subKey) string { return k.partition + "\x00" + k.sub }

// openAckStore opens the table and hooks it to the ack book. Without it
// (say the namespace refuses the topic) the backend works as before.
func (b *Backend) openAckStore(ctx context.Context) {
	t, err := b.openTable(ctx, ackTableName)
	if err != nil {
		b.log.Warn("batch acks will not survive a restart", zap.Error(err))
		return
	}
	b.ackTable = t
	b.acks.setLoader(func(k subKey) map[pos]*batchAcks {
		v, ok := (&handle{t}).Get(ackRecordKey(k))
		if !ok {
			return nil
		}
		return decodePartial(v)
	})
}

// saveAcks writes the partial acks of k if they changed since the last save.
// After a failed save (the broker away) saves are skipped for a while, so
// closing many consumers does not wait out a timeout each.
func (b *Backend) saveAcks(ctx context.Context, k subKey) {
	if b.ackTable == nil {
		return
	}
	if time.Now().UnixNano() < b.ackSaveQuiet.Load() {
		return // still dirty: a later close or cursor move saves it
	}
	data, dirty := b.acks.snapshot(k)
	if !dirty {
		return
	}
	h := &handle{b.ackTable}
	var err error
	if len(data) == 0 {
		err = h.Delete(ctx, ackRecordKey(k))
	} else {
		err = h.Put(ctx, ackRecordKey(k), data)
	}
	if err != nil {
		b.acks.markDirty(k)
		b.ackSaveQuiet.Store(time.Now().Add(ackSaveBackoff).UnixNano())
		b.log.Debug("save batch acks", zap.String("topic", k.partition), zap.String("subscription", k.sub), zap.Error(err))
	}
}

// saveSubAcks saves every changed partition of subscription sub.
func (b *Backend) saveSubAcks(sub string) {
	if b.ackTable == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(b.opts.OperationTimeout, 5*time.Second))
	defer cancel()
	for _, k := range b.acks.dirtyKeys(sub) {
		b.saveAcks(ctx, k)
	}
}

// encodePartial: per entry ledger, entry (varints), n, then the words of
// its bit set (uvarints).
func encodePartial(m map[pos]*batchAcks) []byte {
	var out []byte
	for p, ba := range m {
		if ba.acked == 0 || ba.full() {
			continue
		}
		out = binary.AppendVarint(out, p.ledger)
		out = binary.AppendVarint(out, p.entry)
		out = binary.AppendUvarint(out, uint64(ba.n))
		for _, w := range ba.bits {
			out = binary.AppendUvarint(out, w)
		}
	}
	return out
}

var errBadRecord = errors.New("bad batch-ack record")

const maxBatch = 1 << 20

func decodePartial(data []byte) map[pos]*batchAcks {
	m := map[pos]*batchAcks{}
	next := func() (uint64, error) {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return 0, errBadRecord
		}
		data = data[n:]
		return v, nil
	}
	nextSigned := func() (int64, error) {
		v, n := binary.Varint(data)
		if n <= 0 {
			return 0, errBadRecord
		}
		data = data[n:]
		return v, nil
	}
	for len(data) > 0 {
		l, err1 := nextSigned()
		e, err2 := nextSigned()
		n, err3 := next()
		if err := errors.Join(err1, err2, err3); err != nil || n < 2 || n > maxBatch {
			return m
		}
		ba := newBatchAcks(int32(n))
		for i := range ba.bits {
			w, err := next()
			if err != nil {
				return m
			}
			ba.bits[i] = w
		}
		// Bits past n would count acks of messages that do not exist.
		if last := n % 64; last != 0 {
			ba.bits[len(ba.bits)-1] &= 1<<last - 1
		}
		for _, w := range ba.bits {
			ba.acked += int32(bits.OnesCount64(w))
		}
		if ba.acked > 0 && !ba.full() {
			m[pos{l, e}] = ba
		}
	}
	return m
}
