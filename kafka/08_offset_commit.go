package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit v2-v8: v9 carries KIP-848 member epochs, not offered.
func init() { register(8, 2, 8, handleOffsetCommit) }

// offsetCommitTimeout is Kafka's offsets.commit.timeout.ms: a commit the
// backend does not take by then (the Pulsar broker is away) is answered
// REQUEST_TIMED_OUT, and the client retries it. Waiting longer held the
// heartbeats queued behind it on the connection until the consumer's
// group session ran out.
const offsetCommitTimeout = 5 * time.Second

func handleOffsetCommit(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.OffsetCommitRequest)
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	ctx, cancel := context.WithTimeout(r.ctx, offsetCommitTimeout)
	defer cancel()
	code := kerr.InvalidGroupID.Code
	switch {
	case !r.allowed(authz.Read, authz.Group, req.Group):
		code = kerr.GroupAuthorizationFailed.Code
	case req.Group != "":
		code = h.commitAllowed(ctx, req.Group, req.MemberID, req.InstanceID, req.Generation)
	}
	// The partitions' commits go to the backend at once (commitAll): one
	// at a time, 10,000 partitions took 10,000 synced writes.
	var items []offsetCommitItem
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		tcode := code
		if tcode == 0 && !r.allowedTopic(authz.Read, t.Topic) {
			tcode = kerr.TopicAuthorizationFailed.Code
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = tcode
			if tcode == 0 {
				meta := ""
				if p.Metadata != nil {
					meta = *p.Metadata
				}
				items = append(items, offsetCommitItem{topic: t.Topic, partition: p.Partition,
					c: committed{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: meta}, at: [2]int{len(resp.Topics), len(rt.Partitions)}})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	h.offsets.commitAll(ctx, req.Group, items)
	for _, it := range items {
		resp.Topics[it.at[0]].Partitions[it.at[1]].ErrorCode = errorCode(it.err)
		if it.err == nil && h.mirror != nil {
			h.mirror.Note(req.Group, it.topic, int(it.partition), it.c.offset)
		}
	}
	return resp, nil
}

// commitAllowed checks a commit against the group (groups.go), in the
// group log's order; a commit without a generation (a standalone consumer,
// an admin tool) needs no membership.
func (h *Handler) commitAllowed(ctx context.Context, group, memberID string, instance *string, generation int32) int16 {
	if generation < 0 && memberID == "" {
		return 0
	}
	code, err := h.groups.do(ctx, &groupCmd{Kind: "commit", Group: group, Member: memberID, Instance: instance, Generation: generation})
	if errors.Is(err, context.DeadlineExceeded) {
		return kerr.RequestTimedOut.Code // the broker is away: retry
	}
	if err != nil {
		return kerr.CoordinatorNotAvailable.Code
	}
	return code.(int16)
}
