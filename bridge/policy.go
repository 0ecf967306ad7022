package bridge

import (
	"context"
	"time"
)

// TopicPolicy is what a backend does with a topic's stored messages over
// time: Kafka's cleanup.policy and the settings that go with it, kept by
// the backend so that every gateway (and every restart) applies the same.
type TopicPolicy struct {
	// Compact keeps only the newest message of each key. A message with an
	// empty value is a tombstone (as in Pulsar's compaction): its key goes
	// once the tombstone is older than DeleteRetention. Messages without a
	// key are kept. Kept messages keep their indexes: readers see gaps.
	Compact bool
	// Delete applies RetentionTime and RetentionBytes.
	Delete bool
	// RetentionTime: messages published longer ago go, a stored unit at a
	// time (never before they are this old). Negative: forever.
	RetentionTime time.Duration
	// RetentionBytes bounds each partition's stored bytes; the oldest go
	// first. Negative: no bound.
	RetentionBytes int64
	// DeleteRetention is how long a tombstone stays readable (Compact).
	DeleteRetention time.Duration
	// MinCompactionLag: messages younger than this are not compacted.
	MinCompactionLag time.Duration
}

// DefaultTopicPolicy is a topic's policy until one is set: keep everything.
func DefaultTopicPolicy() TopicPolicy {
	return TopicPolicy{Delete: true, RetentionTime: -1, RetentionBytes: -1, DeleteRetention: 24 * time.Hour}
}

// PolicyAdmin is the part of Admin that shapes a topic's stored log: its
// policy, its start, and compaction.
type PolicyAdmin interface {
	// SetTopicPolicy stores a topic's policy and applies it.
	SetTopicPolicy(ctx context.Context, topic string, p TopicPolicy) error
	// TopicPolicy is the stored policy, DefaultTopicPolicy if none was set.
	TopicPolicy(ctx context.Context, topic string) (TopicPolicy, error)
	// DeleteBefore makes index the first index of a partition (Kafka's
	// DeleteRecords): IndexRange.First is at least index from then on, on
	// every gateway and across restarts. An index at or below First changes
	// nothing; one above Next fails with ErrInvalid. It returns the new First.
	DeleteBefore(ctx context.Context, partition string, index int64) (int64, error)
	// Compact compacts a topic whose policy says Compact, now. The embedded
	// store returns when it is done; Pulsar once the broker has started.
	Compact(ctx context.Context, topic string) error
}
