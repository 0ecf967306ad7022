package kafka

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
	"github.com/pulsar-gateway/pulsar-gateway/txnindex"
)

// Fetch v4-v12: v4 is the first with record batch v2 and isolation level;
// v13 names topics by id, which we do not offer. From v7, incremental fetch
// sessions (KIP-227, fetch_sessions.go).
func init() { register(1, 4, 12, handleFetch) }

// fetchPartition is one partition of a Fetch being gathered.
type fetchPartition struct {
	rp        *kmsg.FetchResponseTopicPartition
	partition string
	offset    int64 // next offset to return
	maxBytes  int
	hw        int64
	got       []fetched
	bytes     int
	cur       *cursor
	committed bool            // read_committed: up to the last stable offset, no aborted records
	ix        *txnindex.Index // the partition's transactions, once it has any
	blocked   bool            // read_committed and at the last stable offset, below the high watermark
}

func handleFetch(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FetchRequest)
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	maxBytes := int(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = 50 << 20
	}

	sess, code := r.c.sessions.begin(req)
	if code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	var wanted []wantedPartition
	if sess != nil {
		defer sess.mu.Unlock()
		resp.SessionID = sess.id
		wanted = sess.apply(req)
	} else {
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				wanted = append(wanted, wantedPartition{key: partKey{t.Topic, p.Partition},
					state: &sessionPartition{fetchOffset: p.FetchOffset, maxBytes: p.PartitionMaxBytes}})
			}
		}
	}

	var parts []*fetchPartition
	answers := make([]kmsg.FetchResponseTopicPartition, len(wanted))
	type topicLookup struct {
		info   topicInfo
		ok     bool
		err    error
		denied bool // no READ
	}
	topics := map[string]topicLookup{}
	for i, w := range wanted {
		tl, seen := topics[w.key.topic]
		if !seen && !isInternal(w.key.topic) {
			if tl.denied = !r.allowedTopic(authz.Read, w.key.topic); !tl.denied {
				tl.info, tl.ok, tl.err = h.topics.get(r.ctx, w.key.topic)
			}
			topics[w.key.topic] = tl
		}
		rp := &answers[i]
		*rp = kmsg.NewFetchResponseTopicPartition()
		rp.Partition = w.key.partition
		rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
		switch {
		case tl.denied:
			rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
		case isInternal(w.key.topic):
			// No offsets log to serve; a constant, as this runs under
			// fetchSession.mu (locksordering.txt).
			rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
		case tl.err != nil:
			rp.ErrorCode = errorCode(tl.err)
		case !tl.ok || w.key.partition < 0 || int(w.key.partition) >= tl.info.partitions:
			rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
		default:
			fp := &fetchPartition{rp: rp, partition: tl.info.partition(w.key.partition),
				offset: w.state.fetchOffset, maxBytes: int(w.state.maxBytes), committed: req.IsolationLevel == 1}
			if fp.committed {
				rp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
			}
			parts = append(parts, fp)
		}
	}
	defer func() {
		for _, fp := range parts {
			if fp.cur != nil {
				fp.cur.mu.Unlock()
			}
		}
	}()

	h.warmFetch(r, parts)
	total := 0
	// A partition already in error answers at once, as Kafka does.
	failed := len(parts) < len(wanted)
	for {
		for _, fp := range parts {
			if fp.rp.ErrorCode != 0 {
				continue
			}
			n, err := h.gather(r, fp, maxBytes-total, total == 0)
			total += n
			if err != nil {
				fp.rp.ErrorCode = errorCode(err)
				if e, ok := err.(*kerr.Error); ok {
					fp.rp.ErrorCode = e.Code
				}
				failed = true
			}
		}
		if failed || total >= int(req.MinBytes) || total >= maxBytes || !time.Now().Before(deadline) {
			break
		}
		if !h.waitForData(r.ctx, &r.c.fetchers, parts, deadline) {
			break
		}
	}

	for _, fp := range parts {
		if len(fp.got) > 0 {
			h.opts.Metrics.Delivered(fetchedRecords(fp.got), fp.bytes)
			var pooled bool
			fp.rp.RecordBatches, pooled = appendFetched(fp.got, fp.bytes)
			if pooled {
				r.pooled = append(r.pooled, fp.rp.RecordBatches)
			}
			r.respSize += len(fp.rp.RecordBatches)
		}
	}
	r.respSize += 64 + 64*len(wanted) // headers around the records
	// In topic order, consecutive partitions of a topic in one entry; an
	// incremental answer only with what changed.
	incremental := sess != nil && req.SessionEpoch != epochInitial
	for i, w := range wanted {
		rp := &answers[i]
		if !w.state.include(rp) && incremental {
			continue
		}
		if rp.RecordBatches == nil { // empty, not null: librdkafka rejects null
			rp.RecordBatches = []byte{}
		}
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != w.key.topic {
			rt := kmsg.NewFetchResponseTopic()
			rt.Topic = w.key.topic
			resp.Topics = append(resp.Topics, rt)
		}
		rt := &resp.Topics[len(resp.Topics)-1]
		rt.Partitions = append(rt.Partitions, *rp)
	}
	return resp, nil
}

// warmFetch makes the backend calls gather would make one partition at a
// time side by side: the ranges not cached and the readers not open (on
// Pulsar a round trip or more each; a consumer's first Fetch of 200
// partitions took seconds).
func (h *Handler) warmFetch(r *request, parts []*fetchPartition) {
	var todo []*fetchPartition
	for _, fp := range parts {
		if fp.rp.ErrorCode == 0 && (!h.extents.fresh(fp.partition) || !r.c.fetchers.has(fp.partition)) {
			todo = append(todo, fp)
		}
	}
	if len(todo) < 2 {
		return
	}
	eachParallel(len(todo), true, func(i int) {
		fp := todo[i]
		rng, err := h.extents.get(r.ctx, fp.partition, false)
		if err != nil || fp.offset < rng.First || fp.offset > rng.Next {
			return // gather answers it
		}
		r.c.fetchers.open(r.ctx, h.b, fp.partition, r.actingAs(), fp.offset)
	})
}

// gather adds what a partition has, up to its byte limits, and returns the
// bytes added. first lets one message through whatever its size, so a
// consumer is never stuck behind a record bigger than its limits.
func (h *Handler) gather(r *request, fp *fetchPartition, budget int, first bool) (int, error) {
	rng, err := h.extents.get(r.ctx, fp.partition, false)
	if err == nil && (fp.offset < rng.First || fp.offset > rng.Next) {
		// Out of range by the cache: make sure before saying so.
		rng, err = h.extents.get(r.ctx, fp.partition, true)
	}
	if err != nil {
		return 0, err
	}
	fp.hw = rng.Next
	fp.rp.HighWatermark, fp.rp.LastStableOffset, fp.rp.LogStartOffset = rng.Next, rng.Next, rng.First
	if fp.offset < rng.First || fp.offset > rng.Next {
		return 0, kerr.OffsetOutOfRange
	}
	limit := fp.hw
	if fp.committed {
		if limit, fp.ix, err = h.stableOffset(r.ctx, fp.partition, fp.ix, limit); err != nil {
			return 0, err
		}
		fp.rp.LastStableOffset = limit
	}
	if fp.cur == nil {
		if fp.offset == rng.Next && fp.cur == nil && budget <= 0 {
			return 0, nil
		}
		if fp.cur, err = r.c.fetchers.acquire(r.ctx, h.b, fp.partition, r.actingAs(), fp.offset); err != nil {
			if errors.Is(err, errCursorBusy) {
				return 0, nil
			}
			return 0, err
		}
	}
	added := 0
	// One timeout for the whole gather, not one per message (a timer each
	// was a visible share of the Fetch path's CPU).
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	for fp.offset < limit {
		f, err := fp.cur.read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				// The reader failed for good: a later Fetch opens another
				// instead of getting this error forever.
				r.c.fetchers.forget(fp.partition, fp.cur)
			}
			return added, err
		}
		if f.last() < fp.offset { // a reader may start before; skip
			continue
		}
		if fp.committed {
			u, txn := txnUnitOf(f)
			if txn && fp.ix == nil {
				// The first transactional records seen here (the mark of
				// AddPartitionsToTxn may not have reached this gateway).
				fp.cur.unread(f)
				if limit, fp.ix, err = h.stableOffset(r.ctx, fp.partition, h.txnIdx.Get(fp.partition), max(fp.hw, f.last()+1)); err != nil {
					return added, err
				}
				fp.rp.LastStableOffset = limit
				continue
			}
			if f.last() >= limit {
				fp.cur.unread(f)
				break
			}
			if txn && !u.Control && fp.ix.Aborted(u.PID, f.last()) {
				fp.offset = f.last() + 1
				fp.cur.next = fp.offset
				continue
			}
		}
		size := f.size()
		if !(first && added == 0 && len(fp.got) == 0) && (fp.bytes+size > fp.maxBytes || added+size > budget) {
			fp.cur.unread(f)
			break
		}
		fp.got = append(fp.got, f)
		fp.bytes += size
		added += size
		fp.offset = f.last() + 1
		fp.cur.next = fp.offset
	}
	// A stored batch may reach past the high watermark the cache knew; it
	// is durable, and a client must not see records past the watermark.
	if fp.offset > fp.hw {
		fp.hw = fp.offset
		fp.rp.HighWatermark = fp.offset
		if fp.ix == nil {
			fp.rp.LastStableOffset = fp.offset
		}
		h.extents.observe(fp.partition, fp.offset-1)
	}
	fp.blocked = fp.committed && fp.offset >= limit && limit < fp.hw
	return added, nil
}

// stableOffset is read_committed's limit in partition: its last stable
// offset below upTo, once the partition had a transaction (this gateway
// saw one there, or AddPartitionsToTxn marked it); upTo before. ix is the
// partition's index if the caller has it, and the one used is returned
// (nil: none yet).
func (h *Handler) stableOffset(ctx context.Context, partition string, ix *txnindex.Index, upTo int64) (int64, *txnindex.Index, error) {
	if ix == nil {
		if mark, marked := h.txnParts.Get(partition); (!marked || bytes.Equal(mark, markStoreTxn)) && !h.txnIdx.Has(partition) {
			return upTo, nil, nil
		}
		ix = h.txnIdx.Get(partition)
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lso, err := ix.Advance(ictx, upTo)
	if err != nil {
		return 0, ix, err
	}
	return lso, ix, nil
}

// appendFetched encodes a partition's answer: runs of messages as record
// batches, stored batches as they are, at their offsets. A lone stored
// batch is the answer itself, not copied; anything else is built in a
// pooled buffer (pooled), to be given back once the response is encoded.
func appendFetched(got []fetched, size int) (out []byte, pooled bool) {
	if len(got) == 1 && got[0].rb != nil {
		rb := got[0].rb
		recordbatch.SetBaseOffset(rb.Data, rb.First)
		return rb.Data, false
	}
	dst := getBuffer(size + batchHeaderSize)
	var run []*bridge.Message
	var runTxn txnindex.Unit // of the run: a transactional producer's, or pid 0
	flush := func() {
		if len(run) == 0 {
			return
		}
		if runTxn.PID != 0 {
			dst = appendBatchOf(dst, run, runTxn.PID, runTxn.Epoch, recordbatch.AttrTransactional)
		} else {
			dst = appendBatch(dst, run)
		}
		run = run[:0]
	}
	for _, f := range got {
		if f.m == nil {
			flush()
			recordbatch.SetBaseOffset(f.rb.Data, f.rb.First)
			dst = append(dst, f.rb.Data...)
			continue
		}
		u, txn := txnindex.ParseTag(f.m.BatchTag)
		if !txn {
			u = txnindex.Unit{}
		}
		if u.Control {
			flush()
			dst = appendControlBatch(dst, f.m.Index, u.PID, u.Epoch, u.Commit, timestamp(f.m))
			continue
		}
		if u != runTxn {
			flush()
			runTxn = u
		}
		run = append(run, f.m)
	}
	flush()
	return dst, true
}

// messageSize estimates a message's size in a record batch.
func messageSize(m *bridge.Message) int {
	n := len(m.Key) + len(m.Value) + 20
	for k, v := range m.Properties {
		n += len(k) + len(v) + 4
	}
	return n
}

// stableRecheck is how often a read_committed Fetch waiting at the last
// stable offset looks again.
const stableRecheck = 20 * time.Millisecond

// waitForData blocks until some cursor of the connection has a new message
// or the deadline passes; it reports whether to gather again. A message
// read while waiting is kept in its cursor, not lost.
func (h *Handler) waitForData(ctx context.Context, fs *cursorCache, parts []*fetchPartition, deadline time.Time) bool {
	final := deadline
	for _, fp := range parts {
		if fp.blocked && time.Until(deadline) > stableRecheck {
			// Waiting for a transaction to end, which the records already
			// read ahead do not show: look again soon.
			deadline = time.Now().Add(stableRecheck)
		}
	}
	parent := ctx
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// The connection's arrival signal is taken before looking at the
	// cursors, so an arrival after the look still wakes the wait.
	woke := fs.arrivals()
	ready := false
	for _, fp := range parts {
		if fp.blocked || fp.rp.ErrorCode != 0 || fp.cur == nil {
			continue
		}
		if fp.cur.hasArrival() {
			ready = true
			break
		}
	}
	if !ready {
		select {
		case <-woke:
		case <-ctx.Done():
		}
	}
	cancel()
	// What was read ahead is durable: the high watermark is at least past it.
	got := false
	for _, fp := range parts {
		if fp.cur == nil {
			continue
		}
		if ix, ok := fp.cur.newest(); ok {
			h.extents.observe(fp.partition, ix)
			got = true
		}
	}
	return ctx.Err() == nil || got || (parent.Err() == nil && time.Now().Before(final))
}
