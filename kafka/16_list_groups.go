package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups v0-v4 (v4 filters by state). Lists the groups of every
// gateway, as of their last snapshot (taken at every change of state), and
// those with committed offsets in shared state.
func init() { register(16, 0, 4, handleListGroups) }

func handleListGroups(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	// As Kafka: DESCRIBE on the cluster lists every group, else those the
	// principal may describe.
	all := r.allowedCluster(authz.Describe)
	want := func(name, state string) bool {
		if !all && !r.allowed(authz.Describe, authz.Group, name) {
			return false
		}
		if len(req.StatesFilter) == 0 {
			return true
		}
		for _, s := range req.StatesFilter {
			if s == state {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	h.groups.known(func(name string, state groupState, protocolType string) {
		seen[name] = true
		if want(name, state.String()) {
			resp.Groups = append(resp.Groups, kmsg.ListGroupsResponseGroup{Group: name, ProtocolType: protocolType, GroupState: state.String()})
		}
	})
	for _, name := range h.offsets.groups() {
		if !seen[name] && want(name, "Empty") {
			resp.Groups = append(resp.Groups, kmsg.ListGroupsResponseGroup{Group: name, ProtocolType: "consumer", GroupState: "Empty"})
		}
	}
	return resp, nil
}
