package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// LeaveGroup v0-v5: v3 leaves several (static) members at once.
func init() { register(13, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.LeaveGroupRequest)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	c := h.groups
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.group(req.Group, false)
	left := 0
	leave := func(id string, instance *string) int16 {
		if g == nil {
			return kerr.UnknownMemberID.Code
		}
		if id == "" && instance != nil {
			id = g.instances[*instance]
		}
		if g.members[id] == nil {
			return kerr.UnknownMemberID.Code
		}
		g.removeMember(id)
		left++
		return 0
	}
	if req.Version < 3 {
		resp.ErrorCode = leave(req.MemberID, nil)
	} else {
		for _, lm := range req.Members {
			rm := kmsg.NewLeaveGroupResponseMember()
			rm.MemberID, rm.InstanceID = lm.MemberID, lm.InstanceID
			rm.ErrorCode = leave(lm.MemberID, lm.InstanceID)
			resp.Members = append(resp.Members, rm)
		}
	}
	if left > 0 {
		g.afterLeave()
	}
	return resp, nil
}
