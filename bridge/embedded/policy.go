package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Topic policies (bridge.PolicyAdmin): stored under 'O', applied by the
// maintenance job (maintain.go), and a partition's log start under 'L'.
//
//	policyVersion flags(1: compact, 2: delete) retentionTime(varint ns)
//	retentionBytes(varint) deleteRetention(varint ns) minCompactionLag(varint ns)
const policyVersion = 1

func appendPolicy(dst []byte, p bridge.TopicPolicy) []byte {
	var flags byte
	if p.Compact {
		flags |= 1
	}
	if p.Delete {
		flags |= 2
	}
	dst = append(dst, policyVersion, flags)
	dst = binary.AppendVarint(dst, int64(p.RetentionTime))
	dst = binary.AppendVarint(dst, p.RetentionBytes)
	dst = binary.AppendVarint(dst, int64(p.DeleteRetention))
	return binary.AppendVarint(dst, int64(p.MinCompactionLag))
}

func decodePolicy(b []byte) (bridge.TopicPolicy, error) {
	d := decoder{b: b}
	if v := d.byte(); v != policyVersion {
		return bridge.TopicPolicy{}, fmt.Errorf("%w: policy version %d", errCorrupt, v)
	}
	flags := d.byte()
	p := bridge.TopicPolicy{Compact: flags&1 != 0, Delete: flags&2 != 0}
	p.RetentionTime = time.Duration(d.varint())
	p.RetentionBytes = d.varint()
	p.DeleteRetention = time.Duration(d.varint())
	p.MinCompactionLag = time.Duration(d.varint())
	if d.err != nil {
		return bridge.TopicPolicy{}, d.err
	}
	if len(d.b) > 0 {
		return bridge.TopicPolicy{}, fmt.Errorf("%w: %d bytes after a policy", errCorrupt, len(d.b))
	}
	return p, nil
}

// loadPolicies reads every stored policy onto its topic, at open.
func (b *Backend) loadPolicies() error {
	it, err := b.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindPolicy}, UpperBound: []byte{kindPolicy + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		p, err := decodePolicy(it.Value())
		if err != nil {
			return fmt.Errorf("policy of %q: %w", it.Key()[1:], err)
		}
		if t, ok := b.topics[string(it.Key()[1:])]; ok {
			t.policy = &p
		}
	}
	return it.Error()
}

// policyOf is a topic's policy, the default when none was set.
func (b *Backend) policyOf(topic string) bridge.TopicPolicy {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.topics[topic]; ok && t.policy != nil {
		return *t.policy
	}
	return bridge.DefaultTopicPolicy()
}

func (a admin) SetTopicPolicy(ctx context.Context, name string, p bridge.TopicPolicy) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	if err := a.b.set(policyKey(t.name), appendPolicy(nil, p)); err != nil {
		return fmt.Errorf("policy of %s: %w", t.name, err)
	}
	t.policy = &p
	a.b.maint.poke()
	return nil
}

func (a admin) TopicPolicy(ctx context.Context, name string) (bridge.TopicPolicy, error) {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return bridge.TopicPolicy{}, err
	}
	return a.b.policyOf(t.name), nil
}

func (a admin) DeleteBefore(ctx context.Context, partition string, index int64) (int64, error) {
	p, err := a.b.lookupPartition(partition)
	if err != nil {
		return 0, err
	}
	p.maintMu.Lock()
	defer p.maintMu.Unlock()
	first, durable, _ := p.extent()
	if index > durable || index < 0 {
		return first, fmt.Errorf("%w: %s has indexes %d to %d, not %d", bridge.ErrInvalid, p.name, first, durable, index)
	}
	if index <= first {
		return first, nil
	}
	return index, p.moveStart(index)
}

func (a admin) Compact(ctx context.Context, name string) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	pol := a.b.policyOf(t.name)
	if !pol.Compact {
		return nil
	}
	for _, p := range a.b.partitionsOf(t) {
		if err := p.compact(pol, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// moveStart makes index the partition's first and deletes the groups that
// lie wholly below it; a group it falls inside stays, its messages below
// index hidden by first. p.maintMu is held.
func (p *partition) moveStart(index int64) error {
	batch := p.b.db.NewBatch()
	defer batch.Close()
	batch.Set(logStartKey(p.id), binary.BigEndian.AppendUint64(nil, uint64(index)), nil)
	batch.DeleteRange(messageKey(nil, p.id, 0), messageKey(nil, p.id, index), nil)
	if err := p.b.commit(batch); err != nil {
		return fmt.Errorf("log start of %s: %w", p.name, err)
	}
	p.first.Store(index)
	return nil
}
