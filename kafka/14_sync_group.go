package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SyncGroup v0-v5: the leader's assignment is handed to every member; v5
// echoes protocol type and name.
func init() { register(14, 0, 5, handleSyncGroup) }

func handleSyncGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.SyncGroupRequest)
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	c := h.groups
	c.mu.Lock()
	g := c.group(req.Group, false)
	if g == nil {
		c.mu.Unlock()
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp, nil
	}
	m, kerrr := g.memberErr(req.MemberID, req.Generation)
	if kerrr != nil {
		c.mu.Unlock()
		resp.ErrorCode = kerrr.Code
		return resp, nil
	}
	resp.ProtocolType, resp.Protocol = kmsg.StringPtr(g.protocolType), kmsg.StringPtr(g.protocol)
	switch g.state {
	case groupStable:
		resp.MemberAssignment = m.assignment
		c.mu.Unlock()
		return resp, nil
	case groupCompletingRebalance:
	default:
		c.mu.Unlock()
		resp.ErrorCode = kerr.RebalanceInProgress.Code
		return resp, nil
	}
	g.touch(m)
	if req.MemberID != g.leader {
		wait := make(chan *kmsg.SyncGroupResponse, 1)
		m.sync = wait
		c.mu.Unlock()
		select {
		case got := <-wait:
			return got, nil
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		}
	}
	defer c.mu.Unlock()
	assigned := map[string][]byte{}
	for _, a := range req.GroupAssignment {
		assigned[a.MemberID] = a.MemberAssignment
	}
	g.state = groupStable
	for id, o := range g.members {
		o.assignment = assigned[id]
		if o.sync != nil {
			sr := kmsg.NewPtrSyncGroupResponse()
			sr.ProtocolType, sr.Protocol, sr.MemberAssignment = resp.ProtocolType, resp.Protocol, o.assignment
			o.sync <- sr
			o.sync = nil
		}
	}
	resp.MemberAssignment = m.assignment
	return resp, nil
}
