package kafka

import (
	"slices"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTopicPartitions v0 (KIP-966; Kafka 4's Admin.describeTopics, so
// kafka-topics --describe): what Metadata says of each topic, with empty
// eligible leader replica lists (there are no replicas to elect), sorted by
// name and paged by the cursor as Kafka pages it. Without it the tool falls
// back to Metadata and prints "Elr: N/A".
func init() { register(75, 0, 0, handleDescribeTopicPartitions) }

// topicPartitionsLimit is Kafka's max.request.partition.size.limit default:
// the most partitions one response holds, whatever the client asks.
const topicPartitionsLimit = 2000

func handleDescribeTopicPartitions(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeTopicPartitionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	all := len(req.Topics) == 0
	var names []string
	if all {
		var err error
		if names, err = h.topics.list(r.ctx); err != nil {
			// The backend is away: the topics known so far, leaderless.
			if names = h.topics.knownNames(); !retriable(err) || len(names) == 0 {
				return nil, err
			}
		}
		if h.offsetsTopicShown() {
			names = append(names, offsetsTopic)
		}
	} else {
		for _, t := range req.Topics {
			names = append(names, t.Topic)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	first, firstPartition := 0, int32(0)
	if c := req.Cursor; c != nil {
		i, found := slices.BinarySearch(names, c.Topic)
		if !found || c.Partition < 0 {
			// Kafka refuses a cursor outside the topics asked for, in
			// each topic asked for.
			for _, name := range names {
				t := kmsg.NewDescribeTopicPartitionsResponseTopic()
				t.Topic, t.ErrorCode = kmsg.StringPtr(name), kerr.InvalidRequest.Code
				resp.Topics = append(resp.Topics, t)
			}
			return resp, nil
		}
		first, firstPartition = i, c.Partition
	}
	limit := topicPartitionsLimit
	if req.ResponsePartitionLimit > 0 {
		limit = min(limit, int(req.ResponsePartitionLimit))
	}
	for i, name := range names[first:] {
		if !r.allowedTopic(authz.Describe, name) {
			// As Metadata: all topics lists only what the principal may
			// describe; one named is refused.
			if !all {
				t := kmsg.NewDescribeTopicPartitionsResponseTopic()
				t.Topic, t.ErrorCode = kmsg.StringPtr(name), kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, t)
			}
			continue
		}
		mt := h.topicMetadata(r, name, false)
		t := kmsg.NewDescribeTopicPartitionsResponseTopic()
		t.Topic, t.ErrorCode, t.IsInternal = mt.Topic, mt.ErrorCode, mt.IsInternal
		from := int32(0)
		if i == 0 {
			from = firstPartition
		}
		for _, mp := range mt.Partitions {
			if mp.Partition < from {
				continue
			}
			if limit == 0 {
				resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: mp.Partition}
				break
			}
			limit--
			p := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
			p.ErrorCode, p.Partition, p.LeaderID, p.LeaderEpoch = mp.ErrorCode, mp.Partition, mp.Leader, mp.LeaderEpoch
			p.Replicas, p.ISR, p.OfflineReplicas = mp.Replicas, mp.ISR, mp.OfflineReplicas
			p.EligibleLeaderReplicas, p.LastKnownELR = []int32{}, []int32{}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
		if resp.NextCursor != nil {
			break
		}
		if limit == 0 && first+i+1 < len(names) {
			// Full: the next topic starts the next page.
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: names[first+i+1]}
			break
		}
	}
	return resp, nil
}
