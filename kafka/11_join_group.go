package kafka

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// JoinGroup v0-v9: v4 asks new members to rejoin with an id we hand out
// (MEMBER_ID_REQUIRED), v5 static membership, v9 skip-assignment (never
// set: the leader always assigns).
func init() { register(11, 0, 9, handleJoinGroup) }

// Kafka's group.min/max.session.timeout.ms defaults.
const (
	minSessionTimeout = 6 * time.Second
	maxSessionTimeout = 30 * time.Minute
)

func handleJoinGroup(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.JoinGroupRequest)
	fail := func(e *kerr.Error, memberID string) (kmsg.Response, error) {
		resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
		resp.ErrorCode, resp.MemberID, resp.Generation = e.Code, memberID, -1
		return resp, nil
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	rebalance := time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
	if req.Version == 0 {
		rebalance = session
	}
	switch {
	case req.Group == "":
		return fail(kerr.InvalidGroupID, req.MemberID)
	case session < minSessionTimeout || session > maxSessionTimeout:
		return fail(kerr.InvalidSessionTimeout, req.MemberID)
	}

	c := h.groups
	c.mu.Lock()
	g := c.group(req.Group, true)
	if !g.supports(req.ProtocolType, req.Protocols) {
		c.mu.Unlock()
		return fail(kerr.InconsistentGroupProtocol, req.MemberID)
	}
	id := req.MemberID
	switch {
	case id == "" && req.InstanceID != nil && g.instances[*req.InstanceID] != "":
		id = g.instances[*req.InstanceID] // a static member restarting
	case id == "":
		id = newMemberID(r.hdr.clientID)
		if req.Version >= 4 && req.InstanceID == nil {
			for old, at := range g.pendingIDs { // ids never used to rejoin
				if time.Since(at) > maxSessionTimeout {
					delete(g.pendingIDs, old)
				}
			}
			g.pendingIDs[id] = time.Now()
			c.mu.Unlock()
			return fail(kerr.MemberIDRequired, id)
		}
	case g.members[id] == nil:
		if _, ok := g.pendingIDs[id]; !ok {
			c.mu.Unlock()
			return fail(kerr.UnknownMemberID, id)
		}
		delete(g.pendingIDs, id)
	}
	m := g.members[id]
	if m == nil {
		m = &member{id: id}
		g.members[id] = m
	}
	if m.join != nil { // an earlier JoinGroup of the same member is void
		old := kmsg.NewPtrJoinGroupResponse()
		old.ErrorCode = kerr.RebalanceInProgress.Code
		m.join <- old
	}
	m.instanceID, m.clientID, m.host = req.InstanceID, r.hdr.clientID, r.c.nc.RemoteAddr().String()
	m.protocolType, m.protocols = req.ProtocolType, req.Protocols
	m.sessionTimeout, m.rebalanceTimeout = session, rebalance
	if req.InstanceID != nil {
		g.instances[*req.InstanceID] = id
	}
	if len(g.members) == 1 {
		g.protocolType = req.ProtocolType
	}
	join := make(chan *kmsg.JoinGroupResponse, 1)
	m.join = join
	g.prepareRebalance()
	g.maybeCompleteJoin()
	c.mu.Unlock()

	select {
	case resp := <-join:
		return resp, nil
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
}
