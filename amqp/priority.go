package amqp

import (
	"container/heap"
	"strconv"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Priority queues (x-max-priority). A Pulsar subscription delivers in publish order, so
// priorities apply in each consumer's buffer in the gateway: a consumer of a priority queue
// reads up to priorityWindow messages ahead (its bridge receiver queue and this buffer) and
// delivers the highest priority among them first, the oldest first within a priority.
// Messages beyond the window wait in publish order; basic.get takes publish order.
const priorityWindow = 1000

// priorityOf is a message's priority, capped at the queue's maximum as RabbitMQ does.
func priorityOf(m *bridge.Message, max uint8) uint8 {
	n, err := strconv.Atoi(m.Properties[propPrefix+"priority"])
	if err != nil || n < 0 {
		return 0
	}
	return uint8(min(n, int(max)))
}

type prioItem struct {
	m   *bridge.Message
	p   uint8
	seq uint64
}

type prioHeap []prioItem

func (h prioHeap) Len() int { return len(h) }
func (h prioHeap) Less(i, j int) bool {
	if h[i].p != h[j].p {
		return h[i].p > h[j].p
	}
	return h[i].seq < h[j].seq
}
func (h prioHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *prioHeap) Push(x any)   { *h = append(*h, x.(prioItem)) }
func (h *prioHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// prioBuffer is a consumer's priority buffer, filled by a pump goroutine from the bridge
// consumer and emptied by the consumer's run loop.
type prioBuffer struct {
	max   uint8
	space chan struct{} // one token per free slot
	ready chan struct{} // signalled when a message arrives or the source ends
	done  chan struct{} // closed when pump returns

	mu     sync.Mutex
	h      prioHeap
	seq    uint64
	closed bool // the bridge consumer ended
}

func newPrioBuffer(max uint8) *prioBuffer {
	b := &prioBuffer{max: max, space: make(chan struct{}, priorityWindow), ready: make(chan struct{}, 1), done: make(chan struct{})}
	for range priorityWindow {
		b.space <- struct{}{}
	}
	return b
}

// pump moves messages from the bridge consumer into the buffer while it has room.
func (b *prioBuffer) pump(msgs <-chan *bridge.Message, quit <-chan struct{}) {
	defer close(b.done)
	for {
		select {
		case <-b.space:
		case <-quit:
			return
		}
		select {
		case m, ok := <-msgs:
			b.mu.Lock()
			if ok {
				b.seq++
				heap.Push(&b.h, prioItem{m: m, p: priorityOf(m, b.max), seq: b.seq})
			} else {
				b.closed = true
			}
			b.mu.Unlock()
			b.signal()
			if !ok {
				return
			}
		case <-quit:
			return
		}
	}
}

func (b *prioBuffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *prioBuffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.h)
}

// pop takes the highest priority message; nil when empty. closed: the source ended.
func (b *prioBuffer) pop() (m *bridge.Message, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.h) == 0 {
		return nil, b.closed
	}
	it := heap.Pop(&b.h).(prioItem)
	b.space <- struct{}{}
	return it.m, false
}

// requeue hands a stopped consumer's buffered messages back to the queue at once: a
// cancelled consumer keeps its bridge consumer while deliveries await acks, and would
// otherwise hold them. They come back marked redelivered (a nack counts).
func (b *prioBuffer) requeue(bc bridge.Consumer) {
	<-b.done
	for _, m := range b.takeAll() {
		bc.Nack(m.ID)
	}
}

// takeAll empties the buffer (purge).
func (b *prioBuffer) takeAll() []*bridge.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*bridge.Message, 0, len(b.h))
	for _, it := range b.h {
		out = append(out, it.m)
		b.space <- struct{}{}
	}
	b.h = nil
	return out
}

// nextByPriority waits for the buffer's best message. The first time, it waits (briefly)
// until the messages that were ready when the consumer started have arrived, so that they
// are ordered together, as RabbitMQ orders a queue's ready messages. ok is false when the
// consumer quits or the bridge consumer ended (gone).
func (cs *consumer) nextByPriority() (m *bridge.Message, ok, gone bool) {
	b := cs.prio
	if cs.gather > 0 {
		want := min(cs.gather, priorityWindow)
		cs.gather = 0
		deadline := time.NewTimer(200 * time.Millisecond)
		defer deadline.Stop()
		for b.len() < want {
			select {
			case <-b.ready:
			case <-deadline.C:
				want = 0
			case <-cs.quit:
				return nil, false, false
			}
		}
	}
	for {
		m, closed := b.pop()
		if m != nil {
			return m, true, false
		}
		if closed {
			return nil, false, true
		}
		cs.flush()
		select {
		case <-b.ready:
		case <-cs.quit:
			return nil, false, false
		}
	}
}
