package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups v0-v5. A group this gateway does not coordinate but that
// has committed offsets is described as Empty, as Kafka does after its
// members left.
func init() { register(15, 0, 5, handleDescribeGroups) }

func handleDescribeGroups(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	c := h.groups
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = name
		rg.State = "Dead"
		if g := c.group(name, false); g != nil {
			rg.State, rg.ProtocolType = g.state.String(), g.protocolType
			if g.state == groupStable || g.state == groupCompletingRebalance {
				rg.Protocol = g.protocol
			}
			for id, m := range g.members {
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = id, m.instanceID, m.clientID, m.host
				if g.state == groupStable {
					dm.ProtocolMetadata, dm.MemberAssignment = m.metadata(g.protocol), m.assignment
				}
				rg.Members = append(rg.Members, dm)
			}
		} else if h.hasOffsets(name) {
			rg.State, rg.ProtocolType = "Empty", "consumer"
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

func (h *Handler) hasOffsets(group string) bool {
	found := false
	h.offsets.all(group, func(string, int32, committed) { found = true })
	return found
}
