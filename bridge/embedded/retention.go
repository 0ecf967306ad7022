package embedded

import (
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Retention deletes whole groups from a partition's start, as Kafka deletes
// whole segments: those whose newest message was published more than
// RetentionTime ago, and the oldest while the rest still hold RetentionBytes.
// The log start moves past them (moveStart), so readers and Kafka's
// ListOffsets and Fetch see the new start.
func (p *partition) retain(pol bridge.TopicPolicy, now time.Time) error {
	if !pol.Delete || (pol.RetentionTime < 0 && pol.RetentionBytes < 0) {
		return nil
	}
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	first, durable, _ := p.extent()
	if first >= durable {
		return nil
	}
	type span struct {
		next  int64 // the index after the group
		bytes int64
	}
	var spans []span
	var total int64
	expiredUpTo := first // the index after the last group past RetentionTime
	timeDone := pol.RetentionTime < 0
	err := p.eachGroup(first, durable, func(key []byte, last int64, g group) error {
		size := groupBytes(g)
		total += size
		if pol.RetentionBytes >= 0 {
			spans = append(spans, span{last + 1, size})
		}
		if !timeDone {
			pt, err := p.newestPublish(last, g)
			if err != nil {
				return err
			}
			if now.Sub(pt) > pol.RetentionTime {
				expiredUpTo = last + 1
			} else {
				timeDone = true
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	start := expiredUpTo
	if pol.RetentionBytes >= 0 {
		for _, s := range spans {
			if total-s.bytes < pol.RetentionBytes {
				break
			}
			total -= s.bytes
			start = max(start, s.next)
		}
	}
	if start <= first {
		return nil
	}
	return p.moveStart(start)
}

// groupBytes is a group's message bytes, about what it takes on disk.
func groupBytes(g group) int64 {
	if g.raw != nil {
		return int64(len(g.raw))
	}
	var n int64
	for _, e := range g.entries {
		n += int64(len(e))
	}
	return n
}

// newestPublish is the publish time of a group's last message, its newest.
func (p *partition) newestPublish(last int64, g group) (time.Time, error) {
	if g.raw != nil {
		return g.publish, nil
	}
	var sm storedMessage
	if err := parseMessage(g.entries[len(g.entries)-1], &sm, false); err != nil {
		return time.Time{}, p.corrupt(last, err)
	}
	return sm.PublishTime, nil
}
