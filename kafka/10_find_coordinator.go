package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator v0-v4 (v4 batches keys). Every group and transactional
// id is coordinated by the one broker we advertise, which is in every
// Metadata answer, as franz-go requires.
func init() { register(10, 0, 4, handleFindCoordinator) }

func handleFindCoordinator(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.FindCoordinatorRequest)
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		resp.NodeID, resp.Host, resp.Port = h.nodeID, h.host, h.port
		return resp, nil
	}
	for _, key := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Host, c.Port = key, h.nodeID, h.host, h.port
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp, nil
}
