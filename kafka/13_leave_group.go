package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup v0-v5: v3 leaves several (static) members at once.
func init() { register(13, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if !r.allowed(authz.Read, authz.Group, req.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	cmd := &groupCmd{Kind: "leave", Group: req.Group}
	if req.Version < 3 {
		cmd.Leavers = []leaver{{Member: req.MemberID}}
	} else {
		for _, lm := range req.Members {
			cmd.Leavers = append(cmd.Leavers, leaver{Member: lm.MemberID, Instance: lm.InstanceID})
		}
	}
	got, err := h.groups.do(r.ctx, cmd)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	codes := got.([]int16)
	if req.Version < 3 {
		resp.ErrorCode = codes[0]
		return resp, nil
	}
	for i, lm := range req.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = lm.MemberID, lm.InstanceID, codes[i]
		resp.Members = append(resp.Members, rm)
	}
	return resp, nil
}
