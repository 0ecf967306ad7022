package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// While the backend cannot describe a topic (the Pulsar broker is away),
// Metadata answers from the layout the gateway last knew, each partition
// without a leader, as Kafka answers while a partition's leader is away.
// Clients then keep the topic's partitions, queue and retry. An error at
// the topic with no partitions instead told librdkafka the topic had lost
// them ("partition count changed from 2 to 0"), and produce() refused every
// record until the broker was back.

// known is a topic's last described layout, however old.
func (tc *topicCache) known(name string) (topicInfo, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	c, ok := tc.m[name]
	return c.info, ok
}

// knownNames are the topics the gateway has described.
func (tc *topicCache) knownNames() []string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	names := make([]string, 0, len(tc.m))
	for name := range tc.m {
		names = append(names, name)
	}
	return names
}

// retriable says whether err answers a Kafka client with a code it retries.
func retriable(err error) bool {
	var ke *kerr.Error
	return errors.As(kerr.ErrorForCode(errorCode(err)), &ke) && ke.Retriable
}

// leaderless fills t with the last known layout of topic name, every
// partition LEADER_NOT_AVAILABLE; false when the gateway never knew it or
// err is not one a client should wait out.
func (h *Handler) leaderless(t *kmsg.MetadataResponseTopic, name string, err error) bool {
	info, ok := h.topics.known(name)
	if !ok || !retriable(err) {
		return false
	}
	for p := range int32(info.partitions) {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p
		mp.ErrorCode = kerr.LeaderNotAvailable.Code
		mp.Leader = -1
		mp.LeaderEpoch = -1
		mp.Replicas = []int32{h.nodeID}
		t.Partitions = append(t.Partitions, mp)
	}
	return true
}
