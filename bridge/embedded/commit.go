package embedded

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// committer makes messages durable in groups: while one group is synced to
// disk, the next one gathers. A message's callback fires after its group's
// sync, so durability costs one fsync per group, not per message.
type committer struct {
	b *Backend

	mu      sync.Mutex
	pending []*pendingMessage
	more    chan struct{} // signalled when pending goes from empty to not
	closed  bool
	failed  error // a failed commit fails every later send
	done    chan struct{}
}

type pendingMessage struct {
	part    *partition
	index   int64
	key     []byte
	value   []byte
	cb      bridge.SendCallback
	release func()
}

func newCommitter(b *Backend) *committer {
	c := &committer{b: b, more: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// enqueue assigns the message its index and queues it. Assignment and
// queueing happen under one lock, so every group holds a partition's indexes
// in ascending order. It fails when the store is closed or broken; then
// nothing was queued.
func (c *committer) enqueue(p *partition, sm *storedMessage, cb bridge.SendCallback, release func()) error {
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
	p.next++
	sm.PublishTime = p.publishTimeLocked()
	p.mu.Unlock()
	pm := &pendingMessage{part: p, index: idx, cb: cb, release: release,
		key: messageKey(make([]byte, 0, 17), p.id, idx), value: appendMessage(nil, sm)}
	c.pending = append(c.pending, pm)
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

func (c *committer) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		group := c.pending
		c.pending = nil
		closed := c.closed
		c.mu.Unlock()
		if len(group) == 0 {
			if closed {
				return
			}
			<-c.more
			continue
		}
		c.commit(group)
	}
}

func (c *committer) commit(group []*pendingMessage) {
	batch := c.b.db.NewBatch()
	for _, pm := range group {
		batch.Set(pm.key, pm.value, nil)
	}
	err := batch.Commit(pebble.Sync)
	batch.Close()
	if err != nil {
		c.b.log.Error("commit failed; failing every later send", zap.Error(err))
		c.mu.Lock()
		c.failed = err
		c.mu.Unlock()
	} else {
		// The highest index per partition in this group is now durable.
		tops := map[*partition]int64{}
		for _, pm := range group {
			tops[pm.part] = pm.index + 1
		}
		for p, next := range tops {
			p.advance(next)
		}
	}
	for _, pm := range group {
		pm.release()
		if err != nil {
			pm.cb(bridge.SendResult{}, err)
			continue
		}
		pm.cb(bridge.SendResult{Topic: pm.part.name, Partition: pm.part.num, Index: pm.index,
			ID: messageID{topic: pm.part.name, part: pm.part.num, index: pm.index}}, nil)
	}
}

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
