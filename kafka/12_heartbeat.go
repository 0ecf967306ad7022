package kafka

import (
	"context"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat v0-v4: keeps a member's session alive and tells it when a
// rebalance started.
func init() { register(12, 0, 4, handleHeartbeat) }

// heartbeatWait bounds a heartbeat's trip through the group log. Past it
// (the broker is away), this gateway's copy of the group answers, so a
// member keeps its session through an outage as it would on Kafka, whose
// group coordinator keeps running while storage is away; the group's next
// logged command then grants every member a full session (Grace).
const heartbeatWait = 2 * time.Second

func handleHeartbeat(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	if !r.allowed(authz.Read, authz.Group, req.Group) {
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, heartbeatWait)
	defer cancel()
	resp, err := h.groups.do(ctx, &groupCmd{Kind: "heartbeat", Group: req.Group, Member: req.MemberID,
		Instance: req.InstanceID, Generation: req.Generation})
	if err == nil {
		return resp.(*kmsg.HeartbeatResponse), nil
	}
	if r.ctx.Err() != nil {
		return nil, r.ctx.Err()
	}
	local := req.ResponseKind().(*kmsg.HeartbeatResponse)
	local.ErrorCode = kerr.CoordinatorNotAvailable.Code
	h.groups.peek(req.Group, func(g *group) {
		if g == nil {
			return
		}
		switch _, e := g.memberErr(req.MemberID, req.InstanceID, req.Generation); {
		case e != nil:
			local.ErrorCode = e.Code
		case g.State == groupPreparingRebalance:
			local.ErrorCode = kerr.RebalanceInProgress.Code
		default:
			local.ErrorCode = 0
		}
	})
	return local, nil
}
