package embedded

import (
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"go.uber.org/zap"
)

// cursorFlusher writes changed subscription cursors in the background, so
// an acknowledgement costs a map update, not a disk write. Losing the last
// interval's acks in a crash means redelivery, never loss.
type cursorFlusher struct {
	b     *Backend
	mu    sync.Mutex
	dirty map[*subscription]struct{}
	stop  chan struct{}
	done  chan struct{}
}

func newCursorFlusher(b *Backend, every time.Duration) *cursorFlusher {
	f := &cursorFlusher{b: b, dirty: map[*subscription]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f.flush(pebble.NoSync)
			case <-f.stop:
				f.flush(pebble.Sync)
				return
			}
		}
	}()
	return f
}

func (f *cursorFlusher) mark(s *subscription) {
	f.mu.Lock()
	f.dirty[s] = struct{}{}
	f.mu.Unlock()
}

// forget drops a deleted subscription so it is not written back.
func (f *cursorFlusher) forget(s *subscription) {
	f.mu.Lock()
	delete(f.dirty, s)
	f.mu.Unlock()
}

func (f *cursorFlusher) flush(opts *pebble.WriteOptions) {
	f.mu.Lock()
	dirty := f.dirty
	f.dirty = map[*subscription]struct{}{}
	f.mu.Unlock()
	if len(dirty) == 0 {
		return
	}
	batch := f.b.db.NewBatch()
	defer batch.Close()
	for s := range dirty {
		// A subscription deleted since it was marked must not be written
		// back. Lock order: partition, then subscription.
		s.p.mu.Lock()
		gone := s.p.deleted || s.p.subs[s.name] != s
		s.mu.Lock()
		c := s.snapshotLocked()
		s.dirty = false
		s.mu.Unlock()
		if !gone {
			batch.Set(cursorKey(s.p.id, s.name), appendCursor(nil, c), nil)
		}
		s.p.mu.Unlock()
	}
	if err := batch.Commit(opts); err != nil {
		f.b.log.Error("writing subscription cursors", zap.Error(err))
	}
}

// close writes what is left and stops.
func (f *cursorFlusher) close() {
	close(f.stop)
	<-f.done
}
