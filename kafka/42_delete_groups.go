package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups v0-v2: drops an empty group's committed offsets (and the
// Pulsar subscriptions mirroring them); a group with members is refused.
func init() { register(42, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		if r.allowed(authz.Delete, authz.Group, name) {
			rg.ErrorCode = h.deleteGroup(r, name)
		} else {
			rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp, nil
}

func (h *Handler) deleteGroup(r *request, name string) int16 {
	existed := false
	h.groups.known(func(n string, _ groupState, _ string) { existed = existed || n == name })
	code, err := h.groups.do(r.ctx, &groupCmd{Kind: "delete", Group: name})
	if err != nil {
		return kerr.CoordinatorNotAvailable.Code
	}
	if code.(int16) != 0 {
		return code.(int16)
	}
	if err := h.groups.forget(r.ctx, name); err != nil {
		return errorCode(err)
	}

	topics := map[string]bool{}
	var keys []string
	h.offsets.all(name, func(topic string, p int32, _ committed) {
		topics[topic] = true
		keys = append(keys, offsetKey(name, topic, p))
	})
	if !existed && len(keys) == 0 {
		return kerr.GroupIDNotFound.Code
	}
	for _, k := range keys {
		if err := h.offsets.t.Delete(r.ctx, k); err != nil {
			return errorCode(err)
		}
	}
	for topic := range topics {
		// Best effort: the subscription exists only if mirroring made it.
		h.b.Admin().DeleteSubscription(r.ctx, h.topics.fullName(topic), name, false)
	}
	return 0
}
