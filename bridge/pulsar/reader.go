package pulsar

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// reader is a bridge.Reader of one partition. Pulsar seeks to entries, not
// indexes: a start inside a batch opens at the entry and skips the messages
// below the wanted index (or published before the wanted time).
type reader struct {
	b         *Backend
	name      string
	tn        bridge.TopicName
	partition int
	queue     int
	client    pulsar.Client // the gateway's, or a principal's (principals.go)
	release   func()        // gives a principal's client back; nil: the gateway's

	mu        sync.Mutex
	closed    bool
	r         pulsar.Reader
	floor     int64
	floorTime time.Time
	lastPos   pos // entry of the last message read
}

// CreateReader opens a reader of one partition (or non-partitioned topic).
func (b *Backend) CreateReader(ctx context.Context, opts bridge.ReaderOptions) (bridge.Reader, error) {
	if b.isClosed() {
		return nil, errClosed("backend")
	}
	tn, err := b.parse(opts.Topic)
	if err != nil {
		return nil, err
	}
	// The entry reader reads on the gateway's own login: a principal's
	// reader reads through its client.
	if opts.Batches && rawURL(b.opts.URL) && !(b.principals != nil && opts.Principal != "") {
		er, err := b.createEntryReader(ctx, tn, opts.Start)
		if err != nil {
			return nil, err
		}
		return er, nil
	}
	r := &reader{b: b, name: tn.String(), tn: tn, partition: partitionOf(tn.String()), queue: opts.ReceiverQueueSize}
	if r.client, r.release, err = b.clientFor(opts.Principal); err != nil {
		return nil, err
	}
	if err := r.open(ctx, opts.Start); err != nil {
		if r.release != nil {
			r.release()
		}
		return nil, err
	}
	if err := b.track(r); err != nil {
		r.r.Close()
		return nil, err
	}
	return r, nil
}

// startPoint is where a reader opens: at an entry, else before the first
// (neither set) or after the last; and the floors below which it skips.
type startPoint struct {
	latest    bool
	at        bool
	entry     entryInfo
	floor     int64
	floorTime time.Time
}

// resolveStart finds a start position's entry. Pulsar seeks to entries,
// not indexes: a start inside a batch opens at the entry and skips the
// messages below the wanted index (or published before the wanted time).
func (b *Backend) resolveStart(ctx context.Context, tn bridge.TopicName, s bridge.StartPosition) (startPoint, error) {
	var sp startPoint
	var e entryInfo
	// Nothing below DeleteBefore's log start is read (policy.go).
	if ls, err := b.logStart(ctx, tn.String()); err != nil {
		return sp, err
	} else if ls > 0 && (s.Kind == bridge.StartKindEarliest || s.Kind == bridge.StartKindIndex && s.Index < ls) {
		s = bridge.StartAtIndex(ls)
	}
	switch s.Kind {
	case bridge.StartKindEarliest:
		return sp, nil
	case bridge.StartKindLatest:
		sp.latest = true
		return sp, nil
	case bridge.StartKindIndex:
		sp.floor = s.Index
		var ok bool
		var err error
		if e, ok, err = b.findEntry(ctx, tn, s.Index); err != nil {
			return sp, err
		}
		if !ok {
			last, ok, err := b.lastEntry(ctx, tn)
			if err != nil {
				return sp, err
			}
			if ok {
				e = last
			}
			// findEntry searches the entries internal stats list, which
			// lag behind the last entry while a producer writes: the
			// index may sit in an entry just before the last. Walk back
			// to it (a consumer at the tail would skip them otherwise).
			for ok && e.first() > s.Index && e.entry > 0 {
				prev, err := b.probeEntry(ctx, tn, pos{e.ledger, e.entry - 1})
				if err != nil || prev.last < s.Index {
					break
				}
				e = prev
			}
		}
	case bridge.StartKindTime:
		sp.floorTime = s.Time
		var ok bool
		var err error
		if e, ok, err = b.entryAtTime(ctx, tn, s.Time); err != nil {
			return sp, err
		}
		if !ok { // nothing at or after t: start after the last entry
			last, ok, err := b.lastEntry(ctx, tn)
			if err != nil {
				return sp, err
			}
			if ok {
				e, sp.floor = last, last.last+1
			}
		}
	default:
		return sp, fmt.Errorf("%w: start position kind %d", bridge.ErrInvalid, s.Kind)
	}
	sp.entry, sp.at = e, e.count > 0
	return sp, nil
}

// open (re)creates the client reader at a start position.
func (r *reader) open(ctx context.Context, s bridge.StartPosition) error {
	sp, err := r.b.resolveStart(ctx, r.tn, s)
	if err != nil {
		return err
	}
	start, inclusive, floor, floorTime := pulsar.EarliestMessageID(), false, sp.floor, sp.floorTime
	switch {
	case sp.latest:
		start = pulsar.LatestMessageID()
	case sp.at:
		part := max(int32(r.partition), 0)
		start, inclusive = pulsar.NewMessageID(sp.entry.ledger, sp.entry.entry, -1, part), true
	}
	pr, err := r.client.CreateReader(pulsar.ReaderOptions{Topic: r.name, StartMessageID: start,
		StartMessageIDInclusive: inclusive, ReceiverQueueSize: r.queue})
	if err != nil {
		return mapErr(err, topicScope, "reader of "+r.name)
	}
	r.mu.Lock()
	old := r.r
	r.r, r.floor, r.floorTime = pr, floor, floorTime
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (r *reader) Topic() string { return r.name }

func (r *reader) Next(ctx context.Context) (*bridge.Message, error) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, errClosed("reader")
		}
		pr := r.r
		r.mu.Unlock()
		// No context merged with ours per message (that was a fifth of
		// the read path): Close and Seek close pr, which ends its Next.
		m, err := pr.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.mu.Lock()
			closed, swapped := r.closed, r.r != pr
			r.mu.Unlock()
			if closed {
				return nil, errClosed("reader")
			}
			if swapped { // a Seek replaced the client reader
				continue
			}
			return nil, mapErr(err, topicScope, "read "+r.name)
		}
		out, ok := toMessage(m, r.name, r.partition)
		if !ok {
			return nil, errIndexMissing
		}
		id := m.ID()
		mp := pos{id.LedgerID(), id.EntryID()}
		r.mu.Lock()
		if mp != r.lastPos { // one sparse-index update per entry, not per message
			r.lastPos = mp
			r.mu.Unlock()
			r.b.index.learnMsg(r.name, m)
			r.mu.Lock()
		}
		if r.r != pr { // read from a reader a Seek replaced
			r.mu.Unlock()
			continue
		}
		if out.Index < r.floor || !r.floorTime.IsZero() && out.PublishTime.Before(r.floorTime) {
			r.mu.Unlock()
			continue
		}
		r.floorTime = time.Time{}
		r.mu.Unlock()
		return out, nil
	}
}

func (r *reader) Seek(ctx context.Context, pos bridge.StartPosition) error {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return errClosed("reader")
	}
	return r.open(ctx, pos)
}

func (r *reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pr := r.r
	r.mu.Unlock()
	pr.Close()
	r.b.untrack(r)
	if r.release != nil {
		r.release()
	}
	return nil
}

func (r *reader) closeForBackend() { _ = r.Close() }

// entryAtTime is the first entry published at or after t (admin
// messageid-by-timestamp); ok is false when there is none.
func (b *Backend) entryAtTime(ctx context.Context, t bridge.TopicName, at time.Time) (entryInfo, bool, error) {
	var id struct {
		LedgerID int64 `json:"ledgerId"`
		EntryID  int64 `json:"entryId"`
	}
	ms := max(at.UnixMilli(), 0)
	if _, err := b.adminGet(ctx, fmt.Sprintf("%s/messageid/%d", restPath(t), ms), &id); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.code == 404 && !isTopicMissing(he) {
			return entryInfo{}, false, nil
		}
		return entryInfo{}, false, mapErr(err, topicScope, "message at time on "+t.String())
	}
	if id.LedgerID < 0 || id.EntryID < 0 {
		return b.firstEntry(ctx, t)
	}
	e, err := b.probeEntry(ctx, t, pos{id.LedgerID, id.EntryID})
	if errors.Is(err, errNoEntry) {
		return entryInfo{}, false, nil
	}
	return e, err == nil, err
}

func isTopicMissing(he *httpError) bool {
	return he.code == 404 && (contains(he.body, "Topic not found") || contains(he.body, "does not exist"))
}
