package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
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
	return p.readBelow(from, max, p.durable.Load())
}

// readWritten is read up to what is written, durable or not: for
// subscriptions only (see partition.written).
func (p *partition) readWritten(from int64, max int) ([]*bridge.Message, error) {
	return p.readBelow(from, max, p.written.Load())
}

func (p *partition) readBelow(from int64, max int, end int64) ([]*bridge.Message, error) {
	var out []*bridge.Message
	var entries [][]byte
	err := p.groups(from, end, func(last int64, value []byte) (bool, error) {
		g, err := parseGroup(value, entries)
		if err != nil {
			return false, p.corrupt(last, err)
		}
		entries = g.entries
		out, err = p.decodeGroup(last, g, from, out)
		return len(out) < max, err
	})
	return out, err
}

// readRaw is read keeping raw groups whole (bridge.RawReader): each item
// is a message or a raw batch, and a raw batch may start before from.
func (p *partition) readRaw(from int64, max int) ([]rawItem, error) {
	var out []rawItem
	var msgs []*bridge.Message
	var entries [][]byte
	n := 0
	err := p.groups(from, p.durable.Load(), func(last int64, value []byte) (bool, error) {
		g, err := parseGroup(value, entries)
		if err != nil {
			return false, p.corrupt(last, err)
		}
		entries = g.entries
		if g.raw == nil {
			msgs, err = p.decodeGroup(last, g, from, msgs[:0])
			for _, m := range msgs {
				out = append(out, rawItem{m: m})
			}
			n += len(msgs)
			return n < max, err
		}
		first, err := groupFirst(last, g.count)
		if err != nil {
			return false, p.corrupt(last, err)
		}
		out = append(out, rawItem{rb: &bridge.RawBatch{First: first, Count: g.count, PublishTime: g.publish, Data: bytes.Clone(g.raw)}})
		n += g.count
		return n < max, nil
	})
	return out, err
}

// rawItem is a message or a raw batch.
type rawItem struct {
	m  *bridge.Message
	rb *bridge.RawBatch
}

// groups calls fn with each stored group below end (the durable or the
// written extent) holding index from or a later one, in order, while fn
// returns true.
func (p *partition) groups(from, end int64, fn func(last int64, value []byte) (bool, error)) error {
	from = max(from, p.first.Load()) // DeleteBefore or retention may leave a group reaching below first
	if from >= end {
		return nil
	}
	if !p.b.useDB() {
		return bridge.ErrClosed
	}
	defer p.b.doneDB()
	// A group is below end once its last index is, and the group holding
	// from is the first whose last index is at least from.
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, from),
		UpperBound: messageKey(nil, p.id, end),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		more, err := fn(messageKeyIndex(it.Key()), it.Value())
		if err != nil || !more {
			return err
		}
	}
	return it.Error()
}

// decodeGroup appends the messages of a parsed group from index from on to
// out. They share one copy of their bytes and one allocation, instead of a
// few each.
func (p *partition) decodeGroup(last int64, g group, from int64, out []*bridge.Message) ([]*bridge.Message, error) {
	first, err := groupFirst(last, g.count)
	if err != nil {
		return out, p.corrupt(last, err)
	}
	if from > last {
		return out, nil
	}
	skip := max(from-first, 0)
	if g.raw != nil {
		sms, err := g.rawMessages()
		if err != nil {
			return out, p.corrupt(last, err)
		}
		msgs := make([]decoded, len(sms)-int(skip))
		for i := range msgs {
			p.fill(&msgs[i], first+skip+int64(i), &sms[int(skip)+i])
			out = append(out, &msgs[i].Message)
		}
		return out, nil
	}
	entries := g.entries[skip:]
	first += skip
	size := 0
	for _, e := range entries {
		size += len(e)
	}
	own := make([]byte, 0, size) // never written once filled: properties alias it (parseMessage)
	msgs := make([]decoded, len(entries))
	var sm storedMessage
	for i, e := range entries {
		at := len(own)
		own = append(own, e...)
		sm = storedMessage{}
		if err := parseMessage(own[at:], &sm, true); err != nil {
			return out, p.corrupt(first+int64(i), err)
		}
		p.fill(&msgs[i], first+int64(i), &sm)
		out = append(out, &msgs[i].Message)
	}
	return out, nil
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

// get reads the durable message with one index.
func (p *partition) get(index int64) (*bridge.Message, error) {
	f, err := p.newFinder(p.durable.Load())
	if err != nil {
		return nil, err
	}
	defer f.close()
	return f.get(index)
}

// finder reads single messages by index, below the end it was made with. It keeps the group it
// last found, so lookups that fall in one group split it once.
type finder struct {
	p     *partition
	it    *pebble.Iterator
	key   []byte
	first int64
	g     group           // aliasing the iterator's value
	raw   []storedMessage // a raw group's messages, decoded on first use
}

// newFinder counts as a use of the store until close.
func (p *partition) newFinder(end int64) (*finder, error) {
	if !p.b.useDB() {
		return nil, bridge.ErrClosed
	}
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, 0),
		UpperBound: messageKey(nil, p.id, end),
	})
	if err != nil {
		p.b.doneDB()
		return nil, err
	}
	return &finder{p: p, it: it}, nil
}

func (f *finder) get(idx int64) (*bridge.Message, error) {
	if err := f.find(idx); err != nil {
		return nil, err
	}
	var sm *storedMessage
	if f.g.raw != nil {
		if f.raw == nil {
			msgs, err := f.g.rawMessages()
			if err != nil {
				return nil, f.p.corrupt(idx, err)
			}
			f.raw = msgs
		}
		sm = &f.raw[idx-f.first]
	} else {
		var err error
		if sm, err = decodeMessage(f.g.entries[idx-f.first]); err != nil {
			return nil, f.p.corrupt(idx, err)
		}
	}
	d := &decoded{}
	f.p.fill(d, idx, sm)
	return &d.Message, nil
}

// publishTime is the publish time of the message at idx; a raw group's
// without decoding it.
func (f *finder) publishTime(idx int64) (time.Time, error) {
	if err := f.find(idx); errors.Is(err, errGone) {
		idx = f.first // in a gap: the next stored message's time keeps the order
	} else if err != nil {
		return time.Time{}, err
	}
	if f.g.raw != nil {
		return f.g.publish, nil
	}
	m, err := f.get(idx)
	if err != nil {
		return time.Time{}, err
	}
	return m.PublishTime, nil
}

// find positions the finder on the group holding idx, unless it is there.
func (f *finder) find(idx int64) error {
	if idx >= f.first && idx < f.first+int64(f.g.count) {
		return nil
	}
	f.g.count, f.raw = 0, nil
	f.key = messageKey(f.key[:0], f.p.id, idx)
	if !f.it.SeekGE(f.key) {
		if err := f.it.Error(); err != nil {
			return err
		}
		return f.p.corrupt(idx, pebble.ErrNotFound)
	}
	last := messageKeyIndex(f.it.Key())
	g, err := parseGroup(f.it.Value(), f.g.entries)
	if err == nil {
		f.first, err = groupFirst(last, g.count)
	}
	if err != nil {
		return f.p.corrupt(last, err)
	}
	f.g = g
	if idx < f.first {
		return errGone // compacted away or below the log start; f is on the next group
	}
	return nil
}

// errGone: no stored message has that index any more (compaction, log start).
var errGone = errors.New("embedded: message no longer stored")

func (f *finder) close() {
	f.it.Close()
	f.p.b.doneDB()
}

// indexAtTime binary-searches publish times, which never decrease.
func (p *partition) indexAtTime(t time.Time) (int64, error) {
	first, durable, _ := p.extent()
	if first >= durable {
		return first, nil
	}
	f, err := p.newFinder(durable)
	if err != nil {
		return 0, err
	}
	defer f.close()
	lo, hi := first, durable
	for lo < hi {
		mid := lo + (hi-lo)/2
		pt, err := f.publishTime(mid)
		if err != nil {
			return 0, err
		}
		if pt.Before(t) {
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
		g, err := parseGroup(it.Value(), nil)
		if err != nil {
			return p.corrupt(last, err)
		}
		first, err := groupFirst(last, g.count)
		if err != nil {
			return p.corrupt(last, err)
		}
		p.first.Store(first)
	}
	if it.Last() {
		last := messageKeyIndex(it.Key())
		p.next = last + 1
		g, err := parseGroup(it.Value(), nil)
		if err != nil {
			return p.corrupt(last, err)
		}
		p.lastPublish = g.publish
		if g.raw == nil {
			m, err := decodeMessage(g.entries[len(g.entries)-1])
			if err != nil {
				return fmt.Errorf("partition %q: last message: %w", p.name, err)
			}
			p.lastPublish = m.PublishTime
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	// DeleteBefore or retention may have left a group reaching below the
	// log start.
	v, closer, err := p.b.db.Get(logStartKey(p.id))
	if err == nil {
		if len(v) == 8 {
			p.first.Store(max(p.first.Load(), int64(binary.BigEndian.Uint64(v))))
		}
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return err
	}
	if p.next < p.first.Load() {
		p.next = p.first.Load()
	}
	p.durable.Store(p.next)
	p.written.Store(p.next)
	return nil
}
