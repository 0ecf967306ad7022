package embedded

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Reading a partition's messages from the store, where they lie in groups
// (group.go) keyed by their last index.

// read returns durable messages from index from on, whole groups at a time:
// at least max when there are so many, at most one group more.
func (p *partition) read(from int64, max int) ([]*bridge.Message, error) {
	_, durable, _ := p.extent()
	if from >= durable {
		return nil, nil
	}
	// A group is durable once its last index is below durable, and the group
	// holding from is the first whose last index is at least from.
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, from),
		UpperBound: messageKey(nil, p.id, durable),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*bridge.Message
	var entries [][]byte
	for it.First(); it.Valid() && len(out) < max; it.Next() {
		out, entries, err = p.decodeGroup(messageKeyIndex(it.Key()), it.Value(), from, out, entries)
		if err != nil {
			return out, err
		}
	}
	return out, it.Error()
}

// decodeGroup appends the messages of a group from index from on to out.
// They share one copy of their bytes and one allocation, instead of a few
// each; entries is scratch space, returned for reuse.
func (p *partition) decodeGroup(last int64, value []byte, from int64, out []*bridge.Message, entries [][]byte) ([]*bridge.Message, [][]byte, error) {
	all, err := splitGroup(value, entries[:0])
	if err != nil {
		return out, all, p.corrupt(last, err)
	}
	first, err := groupFirst(last, len(all))
	if err != nil {
		return out, all, p.corrupt(last, err)
	}
	if from > last {
		return out, all, nil
	}
	entries = all
	if from > first {
		entries = all[from-first:]
		first = from
	}
	size := 0
	for _, e := range entries {
		size += len(e)
	}
	own := make([]byte, 0, size)
	msgs := make([]decoded, len(entries))
	var sm storedMessage
	for i, e := range entries {
		at := len(own)
		own = append(own, e...)
		sm = storedMessage{}
		if err := parseMessage(own[at:], &sm); err != nil {
			return out, all, p.corrupt(first+int64(i), err)
		}
		p.fill(&msgs[i], first+int64(i), &sm)
		out = append(out, &msgs[i].Message)
	}
	return out, all, nil
}

func (p *partition) corrupt(index int64, err error) error {
	return fmt.Errorf("partition %s at %d: %w", p.name, index, err)
}

// decoded is a message with its ID next to it: the ID is a pointer into
// the same allocation, where a messageID value would cost one of its own.
type decoded struct {
	bridge.Message
	id messageID
}

// fill makes d the message at idx.
func (p *partition) fill(d *decoded, idx int64, sm *storedMessage) {
	d.id = messageID{part: p.num, index: idx, topic: p.name}
	d.Message = bridge.Message{
		Topic:       p.name,
		Partition:   p.num,
		Index:       idx,
		Key:         sm.Key,
		Value:       sm.Value,
		Properties:  sm.Properties,
		EventTime:   sm.EventTime,
		PublishTime: sm.PublishTime,
		ID:          &d.id,
	}
}

// get reads the message with one index.
func (p *partition) get(index int64) (*bridge.Message, error) {
	f, err := p.newFinder()
	if err != nil {
		return nil, err
	}
	defer f.close()
	return f.get(index)
}

// finder reads single durable messages by index. It keeps the group it
// last found, so lookups that fall in one group split it once.
type finder struct {
	p       *partition
	it      *pebble.Iterator
	key     []byte
	first   int64
	entries [][]byte // the group's messages, aliasing the iterator's value
}

func (p *partition) newFinder() (*finder, error) {
	_, durable, _ := p.extent()
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, 0),
		UpperBound: messageKey(nil, p.id, durable),
	})
	if err != nil {
		return nil, err
	}
	return &finder{p: p, it: it}, nil
}

func (f *finder) get(idx int64) (*bridge.Message, error) {
	if idx < f.first || idx >= f.first+int64(len(f.entries)) {
		if err := f.seek(idx); err != nil {
			return nil, err
		}
	}
	sm, err := decodeMessage(f.entries[idx-f.first])
	if err != nil {
		return nil, f.p.corrupt(idx, err)
	}
	d := &decoded{}
	f.p.fill(d, idx, sm)
	return &d.Message, nil
}

// seek positions the finder on the group holding idx.
func (f *finder) seek(idx int64) error {
	f.entries = f.entries[:0]
	f.key = messageKey(f.key[:0], f.p.id, idx)
	if !f.it.SeekGE(f.key) {
		if err := f.it.Error(); err != nil {
			return err
		}
		return f.p.corrupt(idx, pebble.ErrNotFound)
	}
	last := messageKeyIndex(f.it.Key())
	entries, err := splitGroup(f.it.Value(), f.entries)
	if err == nil {
		f.first, err = groupFirst(last, len(entries))
	}
	if err != nil {
		return f.p.corrupt(last, err)
	}
	if idx < f.first {
		return f.p.corrupt(idx, pebble.ErrNotFound) // below the partition's first
	}
	f.entries = entries
	return nil
}

func (f *finder) close() { f.it.Close() }

// indexAtTime binary-searches publish times, which never decrease.
func (p *partition) indexAtTime(t time.Time) (int64, error) {
	first, durable, _ := p.extent()
	if first >= durable {
		return first, nil
	}
	f, err := p.newFinder()
	if err != nil {
		return 0, err
	}
	defer f.close()
	lo, hi := first, durable
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := f.get(mid)
		if err != nil {
			return 0, err
		}
		if m.PublishTime.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// loadExtent reads the stored extent of a partition at open: its first
// index, the next to assign, and the last publish time.
func (p *partition) loadExtent() error {
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, 0),
		UpperBound: messageKey(nil, p.id+1, 0),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	if it.First() {
		last := messageKeyIndex(it.Key())
		entries, err := splitGroup(it.Value(), nil)
		if err != nil {
			return p.corrupt(last, err)
		}
		first, err := groupFirst(last, len(entries))
		if err != nil {
			return p.corrupt(last, err)
		}
		p.first.Store(first)
	}
	if it.Last() {
		last := messageKeyIndex(it.Key())
		p.next = last + 1
		entries, err := splitGroup(it.Value(), nil)
		if err != nil {
			return p.corrupt(last, err)
		}
		m, err := decodeMessage(entries[len(entries)-1])
		if err != nil {
			return fmt.Errorf("partition %q: last message: %w", p.name, err)
		}
		p.lastPublish = m.PublishTime
	}
	if err := it.Error(); err != nil {
		return err
	}
	if p.next < p.first.Load() {
		p.next = p.first.Load()
	}
	p.durable.Store(p.next)
	return nil
}
