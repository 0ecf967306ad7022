package pulsar

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"golang.org/x/sync/errgroup"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// adminAPI is bridge.Admin over Pulsar's admin REST API.
type adminAPI struct{ b *Backend }

func mustUtilsTopic(name string) utils.TopicName {
	tn, err := utils.GetTopicName(name)
	if err != nil {
		return utils.TopicName{}
	}
	return *tn
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func (a *adminAPI) begin(topic string) (bridge.TopicName, utils.TopicName, error) {
	if a.b.isClosed() {
		return bridge.TopicName{}, utils.TopicName{}, errClosed("backend")
	}
	tn, err := a.b.parse(topic)
	if err != nil {
		return tn, utils.TopicName{}, err
	}
	ut, err := utils.GetTopicName(tn.String())
	if err != nil {
		return tn, utils.TopicName{}, fmt.Errorf("%w: %v", bridge.ErrInvalid, err)
	}
	return tn, *ut, nil
}

// partitions is a topic's partition count (0: not partitioned or missing).
func (a *adminAPI) partitions(ctx context.Context, name string) (int, error) {
	ut, err := utils.GetTopicName(name)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", bridge.ErrInvalid, err)
	}
	md, err := a.b.admin.Topics().GetMetadataWithContext(ctx, *ut)
	if err != nil {
		return 0, mapErr(err, topicScope, "metadata of "+name)
	}
	return md.Partitions, nil
}

func (a *adminAPI) Topic(ctx context.Context, topic string) (bridge.TopicInfo, error) {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return bridge.TopicInfo{}, err
	}
	n, err := a.partitions(ctx, tn.String())
	if err != nil {
		return bridge.TopicInfo{}, err
	}
	if n > 0 {
		return bridge.TopicInfo{Name: tn.String(), Partitions: n}, nil
	}
	_ = ut
	ns, err := utils.GetNamespaceName(tn.NamespaceName())
	if err != nil {
		return bridge.TopicInfo{}, fmt.Errorf("%w: %v", bridge.ErrInvalid, err)
	}
	_, plain, err := a.b.admin.Topics().ListWithContext(ctx, *ns)
	if err != nil {
		return bridge.TopicInfo{}, mapErr(err, topicScope, "list "+tn.NamespaceName())
	}
	if slices.Contains(plain, tn.String()) {
		return bridge.TopicInfo{Name: tn.String()}, nil
	}
	return bridge.TopicInfo{}, fmt.Errorf("%w: %s", bridge.ErrTopicNotFound, tn)
}

func (a *adminAPI) CreateTopic(ctx context.Context, topic string, partitions int) error {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return err
	}
	if partitions < 0 {
		return fmt.Errorf("%w: %d partitions", bridge.ErrInvalid, partitions)
	}
	if _, err := a.Topic(ctx, topic); err == nil {
		return fmt.Errorf("%w: %s", bridge.ErrTopicExists, tn)
	}
	if err := a.createRetrying(ctx, ut, partitions); err != nil {
		return err
	}
	a.b.index.forget(tn.String())
	now := time.Now()
	for _, p := range partitionsOf(tn, partitions) {
		a.b.fresh.Store(p.String(), now)
	}
	return nil
}

// createRetrying creates a topic, retrying for a few seconds while its
// bundle has no owner yet: Pulsar answers 412 "Failed to find ownership"
// for a namespace created moments ago, and the next try succeeds. A 409
// after a failed try means that try did create it.
func (a *adminAPI) createRetrying(ctx context.Context, ut utils.TopicName, partitions int) error {
	deadline := time.Now().Add(10 * time.Second)
	wait := 100 * time.Millisecond
	retried := false
	for {
		err := mapErr(a.b.admin.Topics().CreateWithContext(ctx, ut, partitions), topicScope, "create "+ut.String())
		switch {
		case err == nil:
			return nil
		case retried && errors.Is(err, bridge.ErrTopicExists):
			return nil
		case !errors.Is(err, bridge.ErrUnavailable) || time.Now().Add(wait).After(deadline):
			return err
		}
		retried = true
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func (a *adminAPI) DeleteTopic(ctx context.Context, topic string) error {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return err
	}
	info, err := a.Topic(ctx, topic)
	if err != nil {
		return err
	}
	if err := a.b.admin.Topics().DeleteWithContext(ctx, ut, true, info.Partitions == 0); err != nil {
		return mapErr(err, topicScope, "delete "+tn.String())
	}
	a.b.index.forget(tn.String())
	a.forgetPolicies(ctx, tn, info.Partitions)
	return nil
}

func (a *adminAPI) ListTopics(ctx context.Context, namespace string) ([]bridge.TopicInfo, error) {
	if a.b.isClosed() {
		return nil, errClosed("backend")
	}
	ns, err := utils.GetNamespaceName(namespace)
	if err != nil {
		return nil, fmt.Errorf("%w: namespace %q: %v", bridge.ErrInvalid, namespace, err)
	}
	parted, plain, err := a.b.admin.Topics().ListWithContext(ctx, *ns)
	if err != nil {
		return nil, mapErr(err, topicScope, "list "+namespace)
	}
	// One metadata call per partitioned topic, a few at a time: one after
	// another, 1,178 topics took over 5 s, and kcat -L gave up.
	// A topic deleted between the list and its metadata (by this gateway
	// or another) is not listed: it is gone, which is no error of the list.
	out := make([]bridge.TopicInfo, len(parted), len(parted)+len(plain))
	isParted := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, p := range parted {
		isParted[p] = true
		g.Go(func() error {
			n, err := a.partitions(gctx, p)
			if errors.Is(err, bridge.ErrTopicNotFound) {
				return nil // out[i] stays zero: dropped below
			}
			out[i] = bridge.TopicInfo{Name: p, Partitions: n}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(t bridge.TopicInfo) bool { return t.Name == "" })
	for _, p := range plain {
		if tn, err := bridge.ParseTopic(p); err == nil {
			if base, _, ok := tn.PartitionIndex(); ok && isParted[base.String()] {
				continue
			}
		}
		out = append(out, bridge.TopicInfo{Name: p})
	}
	slices.SortFunc(out, func(x, y bridge.TopicInfo) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func (a *adminAPI) UpdatePartitions(ctx context.Context, topic string, partitions int) error {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return err
	}
	info, err := a.Topic(ctx, topic)
	if err != nil {
		return err
	}
	switch {
	case info.Partitions == 0:
		return fmt.Errorf("%w: %s is not partitioned", bridge.ErrInvalid, tn)
	case partitions < info.Partitions:
		return fmt.Errorf("%w: %s has %d partitions, cannot lower to %d", bridge.ErrInvalid, tn, info.Partitions, partitions)
	case partitions == info.Partitions:
		return nil
	}
	return mapErr(a.b.admin.Topics().UpdateWithContext(ctx, ut, partitions), topicScope, "update partitions of "+tn.String())
}

func (a *adminAPI) IndexRange(ctx context.Context, partition string) (bridge.IndexRange, error) {
	tn, _, err := a.begin(partition)
	if err != nil {
		return bridge.IndexRange{}, err
	}
	r, err := a.b.indexRange(ctx, tn)
	if err != nil {
		return r, err
	}
	// DeleteBefore's log start (policy.go).
	ls, err := a.b.logStart(ctx, tn.String())
	if err != nil {
		return r, err
	}
	r.First = min(max(r.First, ls), r.Next)
	return r, nil
}

func (b *Backend) indexRange(ctx context.Context, tn bridge.TopicName) (bridge.IndexRange, error) {
	last, ok, err := b.lastEntry(ctx, tn)
	if err != nil || !ok {
		return bridge.IndexRange{}, err
	}
	r := bridge.IndexRange{Next: last.last + 1, First: last.last + 1}
	if first, ok, err := b.firstEntry(ctx, tn); err != nil {
		return bridge.IndexRange{}, err
	} else if ok {
		r.First = first.first()
	}
	return r, nil
}

// StoredBytes is the partition's storageSize in Pulsar's topic stats.
func (a *adminAPI) StoredBytes(ctx context.Context, partition string) (int64, error) {
	tn, _, err := a.begin(partition)
	if err != nil {
		return 0, err
	}
	st, err := a.b.topicStats(ctx, tn)
	return st.StorageSize, err
}

func (a *adminAPI) IndexAtTime(ctx context.Context, partition string, t time.Time) (int64, error) {
	tn, _, err := a.begin(partition)
	if err != nil {
		return 0, err
	}
	e, ok, err := a.b.entryAtTime(ctx, tn, t)
	if err != nil {
		return 0, err
	}
	if !ok {
		r, err := a.b.indexRange(ctx, tn)
		return r.Next, err
	}
	return e.first(), nil
}

// partitionNames lists a topic's partitions, or the topic itself.
func (a *adminAPI) partitionNames(ctx context.Context, tn bridge.TopicName) ([]bridge.TopicName, error) {
	info, err := a.Topic(ctx, tn.String())
	if err != nil {
		return nil, err
	}
	return partitionsOf(tn, info.Partitions), nil
}

// partitionsOf names a topic of n partitions' partitions; with n 0, the
// non-partitioned topic itself.
func partitionsOf(tn bridge.TopicName, n int) []bridge.TopicName {
	if n == 0 {
		return []bridge.TopicName{tn}
	}
	out := make([]bridge.TopicName, n)
	for i := range out {
		out[i] = tn.Partition(i)
	}
	return out
}
