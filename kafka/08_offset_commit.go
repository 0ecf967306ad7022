package kafka

import (
	"context"
	"time"

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
	code := h.groups.commitAllowed(req.Group, req.MemberID, req.Generation)
	ctx, cancel := context.WithTimeout(r.ctx, offsetCommitTimeout)
	defer cancel()
	if req.Group == "" {
		code = kerr.InvalidGroupID.Code
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code
			if code == 0 {
				meta := ""
				if p.Metadata != nil {
					meta = *p.Metadata
				}
				err := h.offsets.commit(ctx, req.Group, t.Topic, p.Partition, committed{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: meta})
				rp.ErrorCode = errorCode(err)
				if err == nil && h.mirror != nil {
					h.mirror.note(req.Group, t.Topic, p.Partition, p.Offset)
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// commitAllowed checks a commit against the group, as Kafka does: a
// member's commit must carry its current generation, and none may land
// while an assignment is being handed out; a commit without a generation
// (a standalone consumer, an admin tool) needs no membership.
func (c *coordinator) commitAllowed(group, memberID string, generation int32) int16 {
	if generation < 0 && memberID == "" {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group(group, false)
	if g == nil {
		return kerr.IllegalGeneration.Code
	}
	m, e := g.memberErr(memberID, generation)
	if e != nil {
		return e.Code
	}
	if g.state == groupCompletingRebalance {
		return kerr.RebalanceInProgress.Code
	}
	g.touch(m)
	return 0
}
