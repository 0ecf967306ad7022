package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups v0-v4 (v4 filters by state). Lists the groups of every
// gateway, as of their last snapshot (taken at every change of state), and
// those with committed offsets in shared state.
func init() { register(16, 0, 4, handleListGroups) }

func handleListGroups(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	want := func(state string) bool {
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
		if want(state.String()) {
			resp.Groups = append(resp.Groups, kmsg.ListGroupsResponseGroup{Group: name, ProtocolType: protocolType, GroupState: state.String()})
		}
	})
	for _, name := range h.offsets.groups() {
		if !seen[name] && want("Empty") {
			resp.Groups = append(resp.Groups, kmsg.ListGroupsResponseGroup{Group: name, ProtocolType: "consumer", GroupState: "Empty"})
		}
	}
	return resp, nil
}
