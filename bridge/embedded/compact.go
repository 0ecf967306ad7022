package embedded

import (
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/recordbatch"
)

// Compaction keeps the newest message of each key, as Kafka's log cleaner
// does: a group that loses messages is rewritten as one group per run of
// kept messages, each keyed by its last index, so kept messages keep their
// indexes and readers step over the gaps (a SeekGE lands on the next kept
// group). A raw group's kept runs stay Kafka batches (recordbatch.Filter),
// so a null value stays null for a Kafka Fetch. The newest group is never
// rewritten, as Kafka never cleans the active segment: an idempotent
// producer's last batch stays as it came, and the partition's end stays a
// stored message.

// compactFlushBytes bounds a rewrite batch.
const compactFlushBytes = 4 << 20

// storedUnit is what compaction needs of one stored message.
type storedUnit struct {
	key       []byte
	nullKey   bool
	tombstone bool
	publish   time.Time
	// txn: a Kafka transaction's record or marker. Compaction keeps them
	// all and lets none supersede another record: which of them count
	// (committed) is known only to Kafka readers, and a marker dropped
	// would leave its transaction open for ever.
	txn bool
}

// eachGroup calls fn with every stored group of [from, to), parsed.
func (p *partition) eachGroup(from, to int64, fn func(key []byte, last int64, g group) error) error {
	it, err := p.b.db.NewIter(&pebble.IterOptions{
		LowerBound: messageKey(nil, p.id, from),
		UpperBound: messageKey(nil, p.id, to),
	})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		last := messageKeyIndex(it.Key())
		g, err := parseGroup(it.Value(), nil)
		if err != nil {
			return p.corrupt(last, err)
		}
		if err := fn(it.Key(), last, g); err != nil {
			return err
		}
	}
	return it.Error()
}

// units lists a group's messages as compaction sees them.
func (p *partition) units(last int64, g group) ([]storedUnit, error) {
	out := make([]storedUnit, g.count)
	if g.raw != nil {
		msgs, err := g.rawMessages()
		if err != nil {
			return nil, p.corrupt(last, err)
		}
		txn := false
		if b, err := recordbatch.Parse(g.raw); err == nil {
			txn = b.Transactional() || b.Control()
		}
		for i, m := range msgs {
			out[i] = storedUnit{key: m.Key, nullKey: m.Key == nil, tombstone: len(m.Value) == 0, publish: g.publish, txn: txn}
		}
		return out, nil
	}
	var sm storedMessage
	for i, e := range g.entries {
		sm = storedMessage{}
		if err := parseMessage(e, &sm, false); err != nil {
			return nil, p.corrupt(last, err)
		}
		out[i] = storedUnit{key: sm.Key, nullKey: sm.Key == nil, tombstone: len(sm.Value) == 0, publish: sm.PublishTime}
	}
	return out, nil
}

// compact rewrites the partition's groups below its newest so that only
// the newest message of each key remains, and tombstones older than the
// policy's DeleteRetention go too. It reports whether it changed anything.
func (p *partition) compact(pol bridge.TopicPolicy, now time.Time) error {
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	first, durable, _ := p.extent()
	if durable-first < 2 {
		return nil
	}
	// Pass 1: the newest index of each key, and the newest group.
	newest := map[string]int64{}
	var lastGroup int64 = -1
	err := p.eachGroup(first, durable, func(_ []byte, last int64, g group) error {
		us, err := p.units(last, g)
		if err != nil {
			return err
		}
		gf := last - int64(g.count) + 1
		for i, u := range us {
			if !u.nullKey && !u.txn {
				newest[string(u.key)] = gf + int64(i)
			}
		}
		lastGroup = last
		return nil
	})
	if err != nil || lastGroup < 0 {
		return err
	}
	horizon := now.Add(-pol.MinCompactionLag)
	tombstoneGone := now.Add(-pol.DeleteRetention)

	// Pass 2: rewrite each older group that loses a message.
	batch := p.b.db.NewBatch()
	defer func() { batch.Close() }()
	flush := func() error {
		if batch.Empty() {
			return nil
		}
		err := p.b.commit(batch)
		batch.Close()
		batch = p.b.db.NewBatch()
		return err
	}
	err = p.eachGroup(first, lastGroup, func(key []byte, last int64, g group) error {
		us, err := p.units(last, g)
		if err != nil {
			return err
		}
		gf := last - int64(g.count) + 1
		keep := make([]bool, len(us))
		dropped := false
		for i, u := range us {
			idx := gf + int64(i)
			switch {
			case u.nullKey, u.txn, u.publish.After(horizon), idx < first:
				keep[i] = true // a message below first is hidden already
			case newest[string(u.key)] != idx:
			case u.tombstone && u.publish.Before(tombstoneGone):
			default:
				keep[i] = true
			}
			dropped = dropped || !keep[i]
		}
		if !dropped {
			return nil
		}
		batch.Delete(key, nil)
		if err := p.writeKept(batch, gf, g, keep); err != nil {
			return p.corrupt(last, err)
		}
		if batch.Len() >= compactFlushBytes {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// writeKept writes the kept runs of a group that starts at index gf.
func (p *partition) writeKept(batch *pebble.Batch, gf int64, g group, keep []bool) error {
	if g.raw != nil {
		rb, err := recordbatch.Parse(g.raw)
		if err != nil {
			return err
		}
		runs, err := rb.Filter(func(i int) bool { return keep[i] })
		if err != nil {
			return err
		}
		for _, r := range runs {
			last := gf + int64(r.Start+r.Count) - 1
			batch.Set(messageKey(nil, p.id, last), appendRawGroup(nil, g.publish, r.Count, r.Raw), nil)
		}
		return nil
	}
	for i := 0; i < len(keep); {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < len(keep) && keep[j] {
			j++
		}
		batch.Set(messageKey(nil, p.id, gf+int64(j)-1), appendGroup(nil, g.entries[i:j]), nil)
		i = j
	}
	return nil
}
