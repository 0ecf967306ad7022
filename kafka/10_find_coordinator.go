package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
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
		if resp.ErrorCode = r.coordinatorRefusal(req.CoordinatorType, req.CoordinatorKey); resp.ErrorCode == 0 {
			resp.NodeID, resp.Host, resp.Port = h.nodeID, h.host, h.port
		} else {
			resp.NodeID, resp.Port = -1, -1
		}
		return resp, nil
	}
	for _, key := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		if c.ErrorCode = r.coordinatorRefusal(req.CoordinatorType, key); c.ErrorCode == 0 {
			c.NodeID, c.Host, c.Port = h.nodeID, h.host, h.port
		} else {
			c.NodeID, c.Port = -1, -1
		}
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp, nil
}

// coordinatorRefusal is FindCoordinator's authorization: DESCRIBE on the
// group (type 0) or the transactional id (type 1).
func (r *request) coordinatorRefusal(keyType int8, key string) int16 {
	switch {
	case keyType == 1 && !r.allowed(authz.Describe, authz.TransactionalID, key):
		return kerr.TransactionalIDAuthorizationFailed.Code
	case keyType != 1 && !r.allowed(authz.Describe, authz.Group, key):
		return kerr.GroupAuthorizationFailed.Code
	}
	return 0
}
