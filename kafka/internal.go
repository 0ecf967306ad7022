package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's internal topics. Group offsets live in the kafka-offsets state
// table, not in a log, but clients that consume by pattern and tools that
// hide internal topics expect __consumer_offsets in Metadata, flagged
// internal, once a group exists (Kafka creates it at a group's first
// FindCoordinator). It is shown with Kafka's default layout
// (offsets.topic.num.partitions=50, each led by this gateway), so tools
// that place a group at abs(hashCode(group)) % 50 see the count they
// expect. It is never a Pulsar topic: produce is refused as Kafka refuses
// it ("Cannot append to internal topic", INVALID_TOPIC_EXCEPTION), and the
// gateway has no offsets log to serve, so reading, deleting or creating it
// gets TOPIC_AUTHORIZATION_FAILED, what Kafka answers a client not allowed
// to. __transaction_state is internal too, and never shown (no
// transactions are offered).
const (
	offsetsTopic           = "__consumer_offsets"
	offsetsTopicPartitions = 50
)

func isInternal(name string) bool { return name == offsetsTopic || name == "__transaction_state" }

// offsetsTopicShown says whether a group exists, counted as ListGroups
// counts them: one this gateway coordinates, or committed offsets.
func (h *Handler) offsetsTopicShown() bool {
	n := 0
	h.groups.known(func(string, groupState, string) { n++ })
	return n > 0 || h.offsets.any()
}

// internalRefusal is the error of an operation the gateway does not allow
// on an internal topic: unknown while it is not shown.
func (h *Handler) internalRefusal(name string) int16 {
	if h.internalShown(name) {
		return kerr.TopicAuthorizationFailed.Code
	}
	return kerr.UnknownTopicOrPartition.Code
}

func (h *Handler) internalShown(name string) bool {
	return name == offsetsTopic && h.offsetsTopicShown()
}

// internalMetadata describes an internal topic in Metadata.
func (h *Handler) internalMetadata(name string) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(name)
	if !h.internalShown(name) {
		t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return t
	}
	t.IsInternal = true
	for p := range int32(offsetsTopicPartitions) {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition, mp.Leader, mp.LeaderEpoch = p, h.nodeID, -1
		mp.Replicas, mp.ISR = []int32{h.nodeID}, []int32{h.nodeID}
		t.Partitions = append(t.Partitions, mp)
	}
	return t
}
