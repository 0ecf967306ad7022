package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat v0-v4: keeps a member's session alive and tells it when a
// rebalance started.
func init() { register(12, 0, 4, handleHeartbeat) }

func handleHeartbeat(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.HeartbeatRequest)
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	c := h.groups
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group(req.Group, false)
	if g == nil {
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp, nil
	}
	m, e := g.memberErr(req.MemberID, req.Generation)
	if m != nil {
		g.touch(m)
	}
	switch {
	case e != nil:
		resp.ErrorCode = e.Code
	case g.state == groupPreparingRebalance:
		resp.ErrorCode = kerr.RebalanceInProgress.Code
	}
	return resp, nil
}
