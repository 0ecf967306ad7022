package embedded

import (
	"context"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

const defaultReadAhead = 256

// CreateReader reads one partition from a start position.
func (b *Backend) CreateReader(ctx context.Context, opts bridge.ReaderOptions) (bridge.Reader, error) {
	p, err := b.lookupPartition(opts.Topic)
	if err != nil {
		return nil, err
	}
	n := opts.ReceiverQueueSize
	if n <= 0 {
		n = defaultReadAhead
	}
	r := &reader{p: p, readAhead: n, done: make(chan struct{})}
	if err := r.Seek(ctx, opts.Start); err != nil {
		return nil, err
	}
	return r, nil
}

// reader reads a partition in index order straight from the store; it
// needs no goroutine, and waits on the partition's growth signal at the end.
type reader struct {
	p         *partition
	readAhead int
	done      chan struct{} // closed by Close, to end a waiting Next
	closeOnce sync.Once

	mu     sync.Mutex
	pos    int64
	buf    []*bridge.Message // read ahead for Next
	rawBuf []rawItem         // read ahead for NextRaw; one of the two is empty
}

func (r *reader) Topic() string { return r.p.name }

func (r *reader) Next(ctx context.Context) (*bridge.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rawBuf = nil // read on from pos
	for {
		if len(r.buf) > 0 {
			m := r.buf[0]
			r.buf = r.buf[1:]
			r.pos = m.Index + 1
			return m, nil
		}
		if err := r.wait(ctx); err != nil {
			return nil, err
		}
		msgs, err := r.p.read(r.pos, r.readAhead)
		if err != nil {
			return nil, err
		}
		r.buf = msgs
	}
}

func (r *reader) NextRaw(ctx context.Context) (*bridge.Message, *bridge.RawBatch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = nil // read on from pos
	for {
		if len(r.rawBuf) > 0 {
			it := r.rawBuf[0]
			r.rawBuf = r.rawBuf[1:]
			if it.m != nil {
				r.pos = it.m.Index + 1
			} else {
				r.pos = it.rb.First + int64(it.rb.Count)
			}
			return it.m, it.rb, nil
		}
		if err := r.wait(ctx); err != nil {
			return nil, nil, err
		}
		items, err := r.p.readRaw(r.pos, r.readAhead)
		if err != nil {
			return nil, nil, err
		}
		r.rawBuf = items
	}
}

// wait returns once a durable message lies at or after pos.
func (r *reader) wait(ctx context.Context) error {
	for {
		select {
		case <-r.done:
			return bridge.ErrClosed
		case <-r.p.b.closing:
			return bridge.ErrClosed
		default:
		}
		first, durable, grown := r.p.extent()
		if r.pos < first {
			r.pos = first // retention removed what it pointed at
		}
		if r.pos < durable {
			return nil
		}
		select {
		case <-grown:
		case <-r.done:
		case <-r.p.b.closing:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (r *reader) Seek(ctx context.Context, pos bridge.StartPosition) error {
	first, durable, _ := r.p.extent()
	var idx int64
	switch pos.Kind {
	case bridge.StartKindEarliest:
		idx = first
	case bridge.StartKindLatest:
		idx = durable
	case bridge.StartKindIndex:
		idx = max(pos.Index, first)
	case bridge.StartKindTime:
		var err error
		if idx, err = r.p.indexAtTime(pos.Time); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.done:
		return bridge.ErrClosed
	default:
	}
	r.pos, r.buf, r.rawBuf = idx, nil, nil
	return nil
}

func (r *reader) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	return nil
}
