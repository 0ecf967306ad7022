package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups v0-v6: the group as its log says after a tick appended
// now, so every gateway gives the same answer. A group with committed
// offsets and no log is described as Empty, as Kafka does after its
// members left. One that does not exist is Dead, and from v6 (KIP-1043)
// GROUP_ID_NOT_FOUND as Kafka 4 answers (kafka-consumer-groups then says
// "Group g not found.").
func init() { register(15, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, name := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = name
		rg.State = "Dead"
		if !r.allowed(authz.Describe, authz.Group, name) {
			rg.ErrorCode, rg.State = kerr.GroupAuthorizationFailed.Code, ""
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		err := h.groups.view(r.ctx, name, func(g *group) {
			if g == nil {
				if h.hasOffsets(name) {
					rg.State, rg.ProtocolType = "Empty", "consumer"
				} else if req.Version >= 6 {
					rg.ErrorCode, rg.ErrorMessage = kerr.GroupIDNotFound.Code, kmsg.StringPtr("Group "+name+" not found.")
				}
				return
			}
			rg.State, rg.ProtocolType = g.State.String(), g.ProtocolType
			if g.State == groupStable || g.State == groupCompletingRebalance {
				rg.Protocol = g.Protocol
			}
			for _, id := range g.memberIDs() {
				m := g.Members[id]
				dm := kmsg.NewDescribeGroupsResponseGroupMember()
				dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = id, m.Instance, m.ClientID, m.Host
				if g.State == groupStable {
					dm.ProtocolMetadata, dm.MemberAssignment = m.metadata(g.Protocol), m.Assignment
				}
				rg.Members = append(rg.Members, dm)
			}
		})
		if err != nil {
			rg.ErrorCode = kerr.CoordinatorNotAvailable.Code
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
