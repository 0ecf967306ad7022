package embedded

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// committer makes messages durable in groups: while groups are synced to
// disk, the next one gathers. A message's callback fires after its group's
// sync, so durability costs one fsync per group, not per message. Each
// partition's messages in a commit are stored as message groups (group.go).
type committer struct {
	b *Backend

	mu      sync.Mutex
	pending []pendingMessage
	enc     arena                 // the pending messages' encodings
	more    chan struct{}         // signalled when pending goes from empty to not
	spares  chan []pendingMessage // synced groups' slices, for reuse
	// unsynced counts written messages waiting for their sync; progress is
	// signalled when a sync completes.
	unsynced atomic.Int64
	progress chan struct{}
	closed   bool
	failed   error // a failed commit fails every later send
	done     chan struct{}
}

type pendingMessage struct {
	part    *partition
	index   int64  // the first of count
	count   int    // 1, or a raw group's records
	raw     bool   // enc is a raw group (group.go), stored as its own value
	enc     []byte // its encoding, in the committer's arena
	cb      bridge.SendCallback
	release func()
}

func newCommitter(b *Backend) *committer {
	c := &committer{b: b, more: make(chan struct{}, 1), done: make(chan struct{}),
		spares: make(chan []pendingMessage, 4), progress: make(chan struct{}, 1)}
	go c.run()
	return c
}

// enqueue assigns the message its index and queues it. Assignment and
// queueing happen under one lock, so every group holds a partition's indexes
// in ascending order, with no gap. It fails when the store is closed or
// broken; then nothing was queued.
func (c *committer) enqueue(p *partition, sm *storedMessage, cb bridge.SendCallback, release func()) error {
	return c.add(p, 1, func(pm *pendingMessage, publish time.Time) {
		sm.PublishTime = publish
		pm.enc = c.enc.encode(sm)
	}, cb, release)
}

// enqueueRaw is enqueue for a raw group of count records.
func (c *committer) enqueueRaw(p *partition, batch []byte, count int, cb bridge.SendCallback, release func()) error {
	return c.add(p, count, func(pm *pendingMessage, publish time.Time) {
		pm.raw = true
		pm.enc = c.enc.encodeRaw(publish, count, batch)
	}, cb, release)
}

// add assigns count indexes and a publish time, lets encode fill in the
// pending entry, and queues it.
func (c *committer) add(p *partition, count int, encode func(*pendingMessage, time.Time), cb bridge.SendCallback, release func()) error {
	c.mu.Lock()
	if c.closed || c.failed != nil {
		err := c.failed
		c.mu.Unlock()
		if err == nil {
			err = bridge.ErrClosed
		}
		return err
	}
	p.mu.Lock()
	idx := p.next
	p.next += int64(count)
	publish := p.publishTimeLocked()
	p.mu.Unlock()
	c.pending = append(c.pending, pendingMessage{part: p, index: idx, count: count, cb: cb, release: release})
	encode(&c.pending[len(c.pending)-1], publish)
	first := len(c.pending) == 1
	c.mu.Unlock()
	if first {
		select {
		case c.more <- struct{}{}:
		default:
		}
	}
	return nil
}

// run gathers pending messages into groups and writes each to the store
// without waiting for its sync, so subscriptions see it at once (see
// partition.written); the syncer then waits for the syncs in order and
// completes the sends. Up to maxUnsynced written messages wait for their
// sync; beyond that the next group gathers until a sync is done, so under
// load each sync still covers many messages.
func (c *committer) run() {
	defer close(c.done)
	syncs := make(chan written, maxUnsyncedGroups)
	synced := make(chan struct{})
	go c.syncer(syncs, synced)
	defer func() {
		close(syncs)
		<-synced
	}()
	for {
		// Under load the syncs fall behind: gather instead of writing many
		// small groups (each is a batch and a sync request of its own).
		for c.unsynced.Load() >= maxUnsynced {
			<-c.progress
		}
		c.mu.Lock()
		group := c.pending
		var chunks [][]byte
		if len(group) > 0 {
			var spare []pendingMessage // a synced group's, to reuse
			select {
			case spare = <-c.spares:
			default:
			}
			c.pending, chunks = spare, c.enc.take()
		}
		closed := c.closed
		c.mu.Unlock()
		if len(group) == 0 {
			if closed {
				return
			}
			<-c.more
			continue
		}
		c.unsynced.Add(int64(len(group)))
		w := c.write(group)
		// The batch holds copies of the encodings.
		c.mu.Lock()
		c.enc.giveBack(chunks)
		c.mu.Unlock()
		syncs <- w
	}
}

// maxUnsynced is how many written messages may wait for their sync before
// the next group gathers until a sync is done. At a steady rate (10,000
// messages a second) fewer wait, so every message is written at once; at
// saturation groups grow as they did when each waited for the last sync
// (measured: 64 or 256 both beat that on throughput; with 8 groups in
// flight and no bound on messages, many tiny groups cost a third of it).
const maxUnsynced = 256

// maxUnsyncedGroups bounds the groups waiting for their sync: at most one
// per message.
const maxUnsyncedGroups = maxUnsynced

// written is a group written to the store, its sync perhaps not done.
type written struct {
	group []pendingMessage
	runs  [][]*pendingMessage
	batch *pebble.Batch
	start time.Time
	err   error
}

// write adds a group to the store without waiting for the sync, and lets
// subscriptions read it.
func (c *committer) write(group []pendingMessage) written {
	runs := partitionRuns(group)
	// Sized up front (an estimate; it may still grow): a batch that grows
	// copies itself each time.
	size := batchHeader
	for i := range group {
		size += len(group[i].enc) + binary.MaxVarintLen32
	}
	groups := len(runs) + len(group)/maxGroupMessages + 2*size/maxGroupBytes
	batch := c.b.db.NewBatchWithSize(size + groups*groupOverhead)
	var scratch [][]byte
	for _, run := range runs {
		scratch = writeGroups(batch, run, scratch)
	}
	w := written{group: group, runs: runs, batch: batch, start: time.Now()}
	if w.err = c.b.db.ApplyNoSyncWait(batch, pebble.Sync); w.err == nil {
		for _, run := range runs {
			top := run[len(run)-1]
			top.part.advanceWritten(top.index + int64(top.count))
		}
	}
	return w
}

// syncer waits for each written group's sync, in write order, marks it
// durable and completes its sends, in the order they were queued.
func (c *committer) syncer(syncs <-chan written, done chan<- struct{}) {
	defer close(done)
	var failed error // sticky: no group completes after one that failed
	for w := range syncs {
		err := w.err
		if err == nil {
			err = w.batch.SyncWait()
			c.b.commitSeconds.Observe(time.Since(w.start).Seconds())
		}
		w.batch.Close()
		if failed != nil {
			err = failed
		} else if err != nil {
			failed = err
			c.b.log.Error("commit failed; failing every later send", zap.Error(err))
			c.mu.Lock()
			c.failed = err
			c.mu.Unlock()
		} else {
			// Each partition's highest index in this group is now durable.
			for _, run := range w.runs {
				top := run[len(run)-1]
				top.part.advance(top.index + int64(top.count))
			}
		}
		for i := range w.group {
			pm := &w.group[i]
			pm.release()
			if err != nil {
				pm.cb(bridge.SendResult{}, err)
				continue
			}
			pm.cb(bridge.SendResult{Topic: pm.part.name, Partition: pm.part.num, Index: pm.index,
				ID: messageID{topic: pm.part.name, part: pm.part.num, index: pm.index}}, nil)
		}
		c.unsynced.Add(-int64(len(w.group)))
		select {
		case c.progress <- struct{}{}:
		default:
		}
		clear(w.group) // let go of callbacks, partitions and encodings
		select {
		case c.spares <- w.group[:0]:
		default:
		}
	}
}

// partitionRuns sorts a commit's messages by partition, each partition's in
// index order (enqueue queued them so); callbacks keep the commit's order.
func partitionRuns(group []pendingMessage) [][]*pendingMessage {
	var runs [][]*pendingMessage
	at := map[*partition]int{}
	var last *partition
	k := -1
	for i := range group {
		pm := &group[i]
		if pm.part != last {
			var ok bool
			if k, ok = at[pm.part]; !ok {
				k = len(runs)
				at[pm.part] = k
				runs = append(runs, make([]*pendingMessage, 0, len(group)-i))
			}
			last = pm.part
		}
		runs[k] = append(runs[k], pm)
	}
	return runs
}

// writeGroups adds one partition's run of messages to the batch as groups
// within the size bounds, each encoded straight into the batch.
func writeGroups(batch *pebble.Batch, run []*pendingMessage, scratch [][]byte) [][]byte {
	for len(run) > 0 {
		if pm := run[0]; pm.raw {
			key := messageKey(nil, pm.part.id, pm.index+int64(pm.count)-1)
			batch.Set(key, pm.enc, nil) // cannot fail: the batch is not indexed
			run = run[1:]
			continue
		}
		msgs, size := scratch[:0], 0
		for len(msgs) < len(run) && len(msgs) < maxGroupMessages && !run[len(msgs)].raw {
			m := run[len(msgs)].enc
			if len(msgs) > 0 && size+len(m) > maxGroupBytes {
				break
			}
			msgs = append(msgs, m)
			size += len(m)
		}
		last := run[len(msgs)-1]
		op := batch.SetDeferred(messageKeyLen, groupSize(msgs))
		messageKey(op.Key[:0], last.part.id, last.index)
		appendGroup(op.Value[:0], msgs)
		op.Finish() // cannot fail: the batch is not indexed
		run, scratch = run[len(msgs):], msgs
	}
	return scratch
}

// Batch size estimates: Pebble's batch header, and per group its record
// header (kind, key and value lengths), key and group header.
const (
	batchHeader   = 12
	groupOverhead = 1 + 2*binary.MaxVarintLen32 + messageKeyLen + 1 + binary.MaxVarintLen32
)

// close commits what is queued and stops.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	<-c.done
}
