package pulsar

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Topic policies (bridge.PolicyAdmin) on Pulsar:
//   - Compact sets the topic's compaction threshold (topic-level policies,
//     which the broker must enable: topicLevelPoliciesEnabled and
//     systemTopicEnabled), so the broker compacts it, and Compact triggers
//     it. Pulsar's compaction builds a compacted view for readers that ask
//     for it (readCompacted: Pulsar's TableView, state tables); the log
//     itself is kept as retention says, so Kafka readers, which read the
//     log, see every message at its index: what a compacted Kafka topic
//     shows once cleaned, and more. DeleteRetention and MinCompactionLag
//     then hold (tombstones stay longer, nothing goes early).
//   - Delete maps RetentionTime and RetentionBytes onto the topic's
//     retention policy, rounded up to whole minutes and MiB (Pulsar's
//     units; Kafka's retention is a lower bound too). Pulsar applies it to
//     messages every subscription has acknowledged; a durable subscription
//     (a Kafka group's mirror) holds its backlog.
//   - DeleteBefore is logical: the log start is a record in the state
//     table _log-start, which IndexRange and readers from the earliest
//     honour on every gateway. Pulsar has no admin call that deletes a
//     ledger's entries below a position; retention frees them in time.
//
// The policies themselves are kept in the state table _topic-policies, so
// TopicPolicy answers what was set without the system topic's delay.
const (
	policyTableName   = "_topic-policies"
	logStartTableName = "_log-start"
)

// compactionThreshold is the backlog past which the broker compacts.
const compactionThreshold = 1 << 20

// policyTables opens the two tables once.
type policyTables struct {
	mu       sync.Mutex
	policy   *table
	logStart *table
}

func (b *Backend) openPolicyTables(ctx context.Context) (*table, *table, error) {
	b.policies.mu.Lock()
	defer b.policies.mu.Unlock()
	if b.policies.policy == nil {
		t, err := b.stateTable(ctx, policyTableName)
		if err != nil {
			return nil, nil, err
		}
		b.policies.policy = t
	}
	if b.policies.logStart == nil {
		t, err := b.stateTable(ctx, logStartTableName)
		if err != nil {
			return nil, nil, err
		}
		b.policies.logStart = t
	}
	return b.policies.policy, b.policies.logStart, nil
}

// stateTable is State's table itself.
func (b *Backend) stateTable(ctx context.Context, name string) (*table, error) {
	h, err := b.State(ctx, name)
	if err != nil {
		return nil, err
	}
	return h.(*handle).t, nil
}

// logStart is a partition's log start set by DeleteBefore, 0 when none.
func (b *Backend) logStart(ctx context.Context, partition string) (int64, error) {
	_, ls, err := b.openPolicyTables(ctx)
	if err != nil {
		return 0, err
	}
	v, ok := (&handle{ls}).Get(partition)
	if !ok || len(v) != 8 {
		return 0, nil
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func (a *adminAPI) SetTopicPolicy(ctx context.Context, topic string, p bridge.TopicPolicy) error {
	tn, ut, err := a.begin(topic)
	if err != nil {
		return err
	}
	if _, err := a.Topic(ctx, topic); err != nil {
		return err
	}
	pt, _, err := a.b.openPolicyTables(ctx)
	if err != nil {
		return err
	}
	if p == bridge.DefaultTopicPolicy() {
		return a.removePolicy(ctx, tn, ut, pt)
	}
	if p.Compact {
		err = a.b.admin.Topics().SetCompactionThresholdWithContext(ctx, ut, compactionThreshold)
	} else {
		err = a.b.admin.Topics().RemoveCompactionThresholdWithContext(ctx, ut)
	}
	if err != nil {
		return mapErr(err, topicScope, "compaction threshold of "+tn.String())
	}
	ret := utils.RetentionPolicies{RetentionTimeInMinutes: -1, RetentionSizeInMB: -1}
	if p.Delete && p.RetentionTime >= 0 {
		ret.RetentionTimeInMinutes = int((p.RetentionTime + time.Minute - 1) / time.Minute)
	}
	if p.Delete && p.RetentionBytes >= 0 {
		ret.RetentionSizeInMB = (p.RetentionBytes + 1<<20 - 1) >> 20
	}
	if err := a.b.admin.Topics().SetRetentionWithContext(ctx, ut, ret); err != nil {
		return mapErr(err, topicScope, "retention of "+tn.String())
	}
	v, _ := json.Marshal(p)
	return (&handle{pt}).Put(ctx, tn.String(), v)
}

// removePolicy takes a topic back to the namespace's settings: the
// default policy sets nothing, so a namespace's own retention applies to
// topics no one configured.
func (a *adminAPI) removePolicy(ctx context.Context, tn bridge.TopicName, ut utils.TopicName, pt *table) error {
	if _, ok := (&handle{pt}).Get(tn.String()); !ok {
		return nil
	}
	if err := a.b.admin.Topics().RemoveCompactionThresholdWithContext(ctx, ut); err != nil {
		return mapErr(err, topicScope, "compaction threshold of "+tn.String())
	}
	if err := a.b.admin.Topics().RemoveRetentionWithContext(ctx, ut); err != nil {
		return mapErr(err, topicScope, "retention of "+tn.String())
	}
	return (&handle{pt}).Delete(ctx, tn.String())
}

func (a *adminAPI) TopicPolicy(ctx context.Context, topic string) (bridge.TopicPolicy, error) {
	tn, _, err := a.begin(topic)
	if err != nil {
		return bridge.TopicPolicy{}, err
	}
	if _, err := a.Topic(ctx, topic); err != nil {
		return bridge.TopicPolicy{}, err
	}
	pt, _, err := a.b.openPolicyTables(ctx)
	if err != nil {
		return bridge.TopicPolicy{}, err
	}
	v, ok := (&handle{pt}).Get(tn.String())
	if !ok {
		return bridge.DefaultTopicPolicy(), nil
	}
	var p bridge.TopicPolicy
	if err := json.Unmarshal(v, &p); err != nil {
		return bridge.TopicPolicy{}, fmt.Errorf("policy of %s: %w", tn, err)
	}
	return p, nil
}

func (a *adminAPI) DeleteBefore(ctx context.Context, partition string, index int64) (int64, error) {
	tn, _, err := a.begin(partition)
	if err != nil {
		return 0, err
	}
	rng, err := a.IndexRange(ctx, partition) // with the log start
	if err != nil {
		return 0, err
	}
	if index < 0 || index > rng.Next {
		return rng.First, fmt.Errorf("%w: %s has indexes %d to %d, not %d", bridge.ErrInvalid, tn, rng.First, rng.Next, index)
	}
	if index <= rng.First {
		return rng.First, nil
	}
	_, ls, err := a.b.openPolicyTables(ctx)
	if err != nil {
		return 0, err
	}
	if err := (&handle{ls}).Put(ctx, tn.String(), binary.BigEndian.AppendUint64(nil, uint64(index))); err != nil {
		return 0, err
	}
	return index, nil
}

func (a *adminAPI) Compact(ctx context.Context, topic string) error {
	tn, _, err := a.begin(topic)
	if err != nil {
		return err
	}
	p, err := a.TopicPolicy(ctx, topic)
	if err != nil || !p.Compact {
		return err
	}
	parts, err := a.partitionNames(ctx, tn)
	if err != nil {
		return err
	}
	for _, pn := range parts {
		err := a.b.admin.Topics().Compact(mustUtilsTopic(pn.String()))
		// 409: a compaction of it is running already.
		if err != nil && !isConflict(err) {
			return mapErr(err, topicScope, "compact "+pn.String())
		}
	}
	return nil
}

// forgetPolicies drops a deleted topic's policy and log starts.
func (a *adminAPI) forgetPolicies(ctx context.Context, tn bridge.TopicName, partitions int) {
	pt, ls, err := a.b.openPolicyTables(ctx)
	if err != nil {
		return
	}
	if _, ok := (&handle{pt}).Get(tn.String()); ok {
		_ = (&handle{pt}).Delete(ctx, tn.String())
	}
	for _, p := range partitionsOf(tn, partitions) {
		if _, ok := (&handle{ls}).Get(p.String()); ok {
			_ = (&handle{ls}).Delete(ctx, p.String())
		}
	}
}
