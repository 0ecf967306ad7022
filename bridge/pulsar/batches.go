package pulsar

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/pierrec/lz4/v4"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

var (
	_ bridge.BatchProducer  = (*producer)(nil)
	_ bridge.TaggedProducer = (*producer)(nil)
)

// sentEntry is an entry the publisher sent: where it landed, once its
// receipt came, and how many messages it holds.
type sentEntry struct {
	at    pos
	count int64
	txn   bool // part of a transaction: no reader sees it before the commit
}

// SendBatch sends msgs as Pulsar batch entries built here, bounded like
// the client's batches (BatchingMaxMessages, BatchingMaxBytes), and fires
// cb once with the first message's result. Readers of every kind see the
// same messages as from SendAsync. A producer that routes over partitions,
// or a broker the publisher cannot reach, sends them one by one instead.
func (p *producer) SendBatch(ctx context.Context, msgs []bridge.OutMessage, cb bridge.SendCallback) {
	p.SendTagged(ctx, msgs, "", cb)
}

// SendTagged is SendBatch with tag in each entry's own metadata
// properties (wire.TagProperty): entry-level properties of a batch entry,
// which Pulsar clients do not hand to applications (a batched message's
// properties are its own, in its single-message metadata).
func (p *producer) SendTagged(ctx context.Context, msgs []bridge.OutMessage, tag string, cb bridge.SendCallback) {
	if len(msgs) == 0 {
		cb(bridge.SendResult{}, errors.New("empty batch"))
		return
	}
	if p.pub == nil || p.pub.unsupported() || p.batching.Compression == bridge.CompressionZstd {
		if p.b.batchStats.fallback.Add(1) == 1 {
			// Once per backend: the slow path is a deployment fact worth a line.
			p.b.log.Info("Kafka batches go message by message through pulsar-client-go (Backend.BatchStats counts them)",
				zapTopic(p.batching.Topic), zap.Bool("own_connections", p.pub != nil && !p.pub.unsupported()),
				zap.Bool("zstd", p.batching.Compression == bridge.CompressionZstd))
		}
		bridge.SendEach(ctx, p, msgs, cb)
		return
	}
	p.b.batchStats.raw.Add(1)
	p.sendEntries(ctx, p.pub, p.chunks(msgs), tag, nil, p.batching.Compression, cb)
}

// sendEntries sends chunks as entries through pub and fires cb once with
// the first message's result.
func (p *producer) sendEntries(ctx context.Context, pub *publisher, chunks [][]bridge.OutMessage, tag string, txn *wire.Txn, c bridge.Compression, cb bridge.SendCallback) {
	var (
		mu       sync.Mutex
		left     int
		first    bridge.SendResult
		gotFirst bool
		firstErr error
	)
	// Entries' callbacks fire in send order: the first is the first
	// message's entry.
	done := func(res bridge.SendResult, err error) {
		mu.Lock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if err == nil && !gotFirst && firstErr == nil {
			first, gotFirst = res, true
		}
		left--
		last := left == 0
		mu.Unlock()
		if last {
			cb(first, firstErr)
		}
	}
	left = len(chunks)
	for _, ch := range chunks {
		p.sendEntry(ctx, pub, ch, tag, txn, c, done)
	}
}

// chunks splits msgs at the producer's batch bounds.
func (p *producer) chunks(msgs []bridge.OutMessage) [][]bridge.OutMessage {
	var out [][]bridge.OutMessage
	start, bytes := 0, 0
	for i := range msgs {
		n := len(msgs[i].Value) + len(msgs[i].Key)
		if i > start && (i-start >= p.batching.BatchingMaxMessages || bytes+n > p.batching.BatchingMaxBytes) {
			out = append(out, msgs[start:i])
			start, bytes = i, 0
		}
		bytes += n
	}
	return append(out, msgs[start:])
}

// sendEntry sends one entry and queues its callback behind what was sent
// before, as SendAsync does.
func (p *producer) sendEntry(ctx context.Context, pub *publisher, msgs []bridge.OutMessage, tag string, txn *wire.Txn, c bridge.Compression, cb bridge.SendCallback) {
	pd := &pending{cb: cb, entry: &sentEntry{count: int64(len(msgs)), txn: txn != nil}}
	if err := p.acquire(ctx); err != nil {
		cb(bridge.SendResult{}, err)
		return
	}
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if p.closed {
		<-p.slots
		cb(bridge.SendResult{}, errClosed("producer"))
		return
	}
	p.push(pd)
	build := func(seq uint64, name string) ([]byte, []byte, error) {
		return buildEntry(msgs, seq, name, tag, c, txn, &pub.lz4)
	}
	pub.send(ctx, len(msgs), txn, build, func(at pos, err error) {
		p.qmu.Lock()
		pd.entry.at, pd.err, pd.done = at, err, true
		p.qmu.Unlock()
		if err != nil {
			// Errors can come synchronously from send (sendMu held): the
			// dispatcher fires them.
			p.wake()
			return
		}
		p.tryDrain()
	})
}

// resolveSent is resolve for an entry the publisher sent: the result of
// its first message.
func (p *producer) resolveSent(se *sentEntry, mayWait bool) (bridge.SendResult, error, bool) {
	e, err, ok := p.resolveEntry(p.topic, p.fixedPart, se.at, se.count, se.txn, mayWait)
	if !ok || err != nil {
		return bridge.SendResult{}, err, ok
	}
	ix := e.first()
	part := max(p.fixedPart, 0)
	id := pulsar.NewMessageID(se.at.ledger, se.at.entry, 0, int32(part))
	return bridge.SendResult{Topic: p.topic, Partition: part, Index: ix,
		ID: &msgID{id: id, topic: p.topic, partition: part, index: ix}}, nil, true
}

var lz4Compressors = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// lz4Gate spares the compression of values LZ4 cannot shrink (random or
// already compressed bytes): a batch entry of 1 KiB values of random
// letters came out 0.3% smaller, and compressing it was about half of the
// gateway's CPU per record produced. An entry LZ4 does not shrink by at
// least an eighth (ZFS's bar for keeping a block compressed) is stored
// uncompressed, which every Pulsar client reads (as Kafka's broker keeps
// a batch its producer sent uncompressed because compression did not
// pay), and the next lz4Skips entries of the partition go uncompressed
// without trying; then one tries again, so values that turn compressible
// are compressed again after at most that many entries. A publisher's
// gate is used under its mu.
type lz4Gate struct{ skip int }

const lz4Skips = 16

// try reports whether to compress this entry.
func (g *lz4Gate) try() bool {
	if g == nil || g.skip == 0 {
		return true
	}
	g.skip--
	return false
}

// tried notes whether the block was smaller, and returns that.
func (g *lz4Gate) tried(shrank bool) bool {
	if g != nil && !shrank {
		g.skip = lz4Skips
	}
	return shrank
}

// buildEntry encodes msgs as one batch entry's metadata and payload, the
// way pulsar-client-go encodes the same messages from SendAsync.
// txn, when set, marks the entry part of that transaction. With LZ4 the
// entry goes uncompressed when the block would not be an eighth smaller,
// and gate (nil: always try) skips trying after such entries.
func buildEntry(msgs []bridge.OutMessage, seq uint64, producerName, tag string, c bridge.Compression, txn *wire.Txn, gate *lz4Gate) (meta, payload []byte, err error) {
	wm := make([]wire.Message, len(msgs))
	size := 0
	for i := range msgs {
		m := &msgs[i]
		w := wire.Message{Key: string(m.Key), Properties: m.Properties, Payload: m.Value}
		if m.Key != nil && len(m.Key) == 0 {
			w.Properties = withProp(m.Properties, emptyKeyProp, "")
		}
		if !m.EventTime.IsZero() {
			w.EventTime = uint64(m.EventTime.UnixMilli())
		}
		wm[i] = w
		size += len(m.Value) + len(m.Key) + 32
	}
	raw := wire.AppendBatch(make([]byte, 0, size), wm, seq)
	md := wire.Metadata{ProducerName: producerName, SequenceID: seq, PublishTime: uint64(time.Now().UnixMilli()),
		NumMessages: len(msgs), First: &wm[0], UncompressedSize: len(raw), Tag: tag, Txn: txn}
	payload = raw
	if c == bridge.CompressionLZ4 && gate.try() {
		lc := lz4Compressors.Get().(*lz4.Compressor)
		lz, err := wire.CompressLZ4(nil, raw, lc)
		lz4Compressors.Put(lc)
		if err != nil {
			return nil, nil, err
		}
		if shrank := len(lz) <= len(raw)-len(raw)/8; gate.tried(shrank) {
			payload, md.LZ4 = lz, true
		}
	}
	return wire.AppendMetadata(nil, md), payload, nil
}
