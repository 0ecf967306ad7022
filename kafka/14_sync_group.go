package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup v0-v5: the leader's assignment is handed to every member; v5
// echoes protocol type and name.
func init() { register(14, 0, 5, handleSyncGroup) }

func handleSyncGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	if !r.allowed(authz.Read, authz.Group, req.Group) {
		resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	cmd := &groupCmd{Kind: "sync", Group: req.Group, Member: req.MemberID, Instance: req.InstanceID,
		Generation: req.Generation}
	if req.ProtocolType != nil {
		cmd.ProtoType = *req.ProtocolType
	}
	if req.Protocol != nil {
		cmd.Protocol = *req.Protocol
	}
	if len(req.GroupAssignment) > 0 {
		cmd.Assign = map[string][]byte{}
		for _, a := range req.GroupAssignment {
			cmd.Assign[a.MemberID] = a.MemberAssignment
		}
	}
	resp, err := h.groups.do(r.ctx, cmd)
	if err != nil {
		if r.ctx.Err() != nil {
			return nil, r.ctx.Err()
		}
		fail := req.ResponseKind().(*kmsg.SyncGroupResponse)
		fail.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return fail, nil
	}
	return resp.(*kmsg.SyncGroupResponse), nil
}
