package embedded

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// admin implements bridge.Admin over the backend's maps and store.
type admin struct{ b *Backend }

func (a admin) CreateTopic(ctx context.Context, name string, partitions int) error {
	full, err := normalize(name)
	if err != nil {
		return err
	}
	a.b.mu.Lock()
	t, err := a.b.createTopicLocked(full, partitions)
	unsynced := 0
	if existing := a.b.topics[full]; existing != nil && err != nil {
		unsynced = existing.unsynced
	}
	a.b.mu.Unlock()
	if serr := a.b.syncUnsynced(unsynced); serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	return a.b.synced(t)
}

func (a admin) DeleteTopic(ctx context.Context, name string) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	parts := a.b.partitionsOf(t)
	batch := a.b.db.NewBatch()
	defer batch.Close()
	batch.Delete(topicKey(t.name), nil)
	batch.Delete(policyKey(t.name), nil)
	for _, p := range parts {
		batch.Delete(partitionKey(p.name), nil)
		batch.Delete(logStartKey(p.id), nil)
		batch.DeleteRange(messageKey(nil, p.id, 0), messageKey(nil, p.id+1, 0), nil)
		batch.DeleteRange(cursorPrefix(p.id), prefixEnd(cursorPrefix(p.id)), nil)
	}
	if err := a.b.commit(batch); err != nil {
		return fmt.Errorf("delete topic %s: %w", t.name, err)
	}
	a.b.mu.Lock()
	delete(a.b.topics, t.name)
	for _, p := range parts {
		delete(a.b.partitions, p.name)
	}
	a.b.layout.Add(1)
	a.b.mu.Unlock()
	for _, p := range parts {
		p.mu.Lock()
		p.deleted = true
		p.mu.Unlock()
		p.shutdown()
	}
	return nil
}

func (a admin) Topic(ctx context.Context, name string) (bridge.TopicInfo, error) {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return bridge.TopicInfo{}, err
	}
	return bridge.TopicInfo{Name: t.name, Partitions: t.partitions}, nil
}

func (a admin) ListTopics(ctx context.Context, namespace string) ([]bridge.TopicInfo, error) {
	if a.b.isClosed() {
		return nil, bridge.ErrClosed
	}
	var out []bridge.TopicInfo
	for _, t := range a.b.sortedTopics("persistent://" + namespace + "/") {
		out = append(out, bridge.TopicInfo{Name: t.name, Partitions: t.partitions})
	}
	return out, nil
}

func (a admin) UpdatePartitions(ctx context.Context, name string, partitions int) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	a.b.mu.Lock()
	if t.partitions == 0 {
		a.b.mu.Unlock()
		return fmt.Errorf("%w: %s is not partitioned", bridge.ErrInvalid, t.name)
	}
	if partitions <= t.partitions {
		a.b.mu.Unlock()
		return fmt.Errorf("%w: %s has %d partitions; can only grow", bridge.ErrInvalid, t.name, t.partitions)
	}
	err = a.b.growTopicLocked(t, partitions)
	a.b.mu.Unlock()
	if err != nil {
		return fmt.Errorf("grow topic %s: %w", t.name, err)
	}
	return a.b.synced(t)
}

func (a admin) IndexRange(ctx context.Context, partition string) (bridge.IndexRange, error) {
	p, err := a.b.lookupPartition(partition)
	if err != nil {
		return bridge.IndexRange{}, err
	}
	first, durable, _ := p.extent()
	return bridge.IndexRange{First: first, Next: durable}, nil
}

// StoredBytes sums the stored groups' message bytes, as retention does.
func (a admin) StoredBytes(ctx context.Context, partition string) (int64, error) {
	p, err := a.b.lookupPartition(partition)
	if err != nil {
		return 0, err
	}
	first, durable, _ := p.extent()
	var n int64
	err = p.eachGroup(first, durable, func(_ []byte, _ int64, g group) error {
		n += groupBytes(g)
		return ctx.Err()
	})
	return n, err
}

func (a admin) IndexAtTime(ctx context.Context, partition string, t time.Time) (int64, error) {
	p, err := a.b.lookupPartition(partition)
	if err != nil {
		return 0, err
	}
	return p.indexAtTime(t)
}

func (a admin) Subscriptions(ctx context.Context, name string) ([]bridge.SubscriptionInfo, error) {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return nil, err
	}
	byName := map[string]*bridge.SubscriptionInfo{}
	for _, p := range a.b.partitionsOf(t) {
		p.mu.Lock()
		subs := p.subsLocked()
		p.mu.Unlock()
		for _, s := range subs {
			info, ok := byName[s.name]
			if !ok {
				info = &bridge.SubscriptionInfo{Name: s.name, Type: s.subType(), Durable: s.durable}
				byName[s.name] = info
			}
			info.Backlog += s.backlog()
			if n := s.consumerCount(); n > info.Consumers {
				info.Consumers = n // a consumer attaches to every partition: count it once
			}
		}
	}
	out := make([]bridge.SubscriptionInfo, 0, len(byName))
	for _, info := range byName {
		out = append(out, *info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (a admin) CreateSubscription(ctx context.Context, name, sub string, index int64) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	parts := a.b.partitionsOf(t)
	for _, p := range parts {
		p.mu.Lock()
		_, exists := p.subs[sub]
		p.mu.Unlock()
		if exists {
			return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionExists, sub, t.name)
		}
	}
	for _, p := range parts {
		p.mu.Lock()
		first, durable, _ := p.extent()
		start := index
		if start < 0 || start > durable {
			start = durable
		}
		start = max(start, first)
		_, err := p.addSubscriptionLocked(sub, bridge.Exclusive, true, start)
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (a admin) DeleteSubscription(ctx context.Context, name, sub string, force bool) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	parts := a.b.partitionsOf(t)
	if !force {
		for _, p := range parts {
			p.mu.Lock()
			s := p.subs[sub]
			p.mu.Unlock()
			if s != nil && s.consumerCount() > 0 {
				return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionBusy, sub, t.name)
			}
		}
	}
	found := false
	for _, p := range parts {
		err := p.deleteSubscription(sub, force)
		if errors.Is(err, bridge.ErrSubscriptionNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		found = true
	}
	if !found {
		return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, sub, t.name)
	}
	return nil
}

func (a admin) ResetSubscription(ctx context.Context, partition, sub string, index int64) error {
	p, err := a.b.lookupPartition(partition)
	if err != nil {
		return err
	}
	s, err := p.subscription(sub)
	if err != nil {
		return err
	}
	s.reset(index)
	return nil
}

func (a admin) ClearBacklog(ctx context.Context, name, sub string) error {
	t, err := a.b.lookupTopic(name, false)
	if err != nil {
		return err
	}
	found := false
	for _, p := range a.b.partitionsOf(t) {
		s, err := p.subscription(sub)
		if err != nil {
			continue
		}
		found = true
		_, durable, _ := p.extent()
		s.reset(durable)
	}
	if !found {
		return fmt.Errorf("%w: %s on %s", bridge.ErrSubscriptionNotFound, sub, t.name)
	}
	return nil
}
