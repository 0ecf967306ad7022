package kafka

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// IncrementalAlterConfigs v0-v1, for topics: SET, DELETE (back to the
// default), and APPEND and SUBTRACT on list configs (cleanup.policy), each
// checked as CreateTopics checks them (topicconfigs.go).
func init() { register(44, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, res := range req.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		rr.ErrorCode, rr.ErrorMessage = h.alterTopic(r, res.ResourceType, res.ResourceName, req.ValidateOnly,
			func(cur map[string]string) (map[string]string, string) {
				if cur == nil {
					cur = map[string]string{}
				}
				seen := map[string]bool{}
				for _, c := range res.Configs {
					if seen[c.Name] {
						return nil, "config " + c.Name + " named twice"
					}
					seen[c.Name] = true
					if why := h.incrementalOp(cur, c); why != "" {
						return nil, why
					}
				}
				return cur, ""
			})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// incrementalOp applies one operation to the overrides in cur.
func (h *Handler) incrementalOp(cur map[string]string, c kmsg.IncrementalAlterConfigsRequestResourceConfig) string {
	def, known := h.topicDefaults()[c.Name]
	if !known {
		return "unknown topic config " + c.Name
	}
	switch c.Op {
	case kmsg.IncrementalAlterConfigOpSet:
		if why := h.checkTopicConfig(c.Name, c.Value); why != "" {
			return why
		}
		cur[c.Name] = *c.Value
	case kmsg.IncrementalAlterConfigOpDelete:
		delete(cur, c.Name)
	case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		if !listConfigs[c.Name] {
			return c.Name + " is not a list: APPEND and SUBTRACT do not apply"
		}
		if c.Value == nil {
			return "config " + c.Name + " needs a value"
		}
		v, ok := cur[c.Name]
		if !ok {
			v = def
		}
		items := cleanupPolicies(v)
		for _, it := range cleanupPolicies(*c.Value) {
			has := slices.Contains(items, it)
			if c.Op == kmsg.IncrementalAlterConfigOpAppend && !has {
				items = append(items, it)
			}
			if c.Op == kmsg.IncrementalAlterConfigOpSubtract && has {
				items = slices.DeleteFunc(items, func(s string) bool { return s == it })
			}
		}
		nv := strings.Join(items, ",")
		if why := h.checkTopicConfig(c.Name, &nv); why != "" {
			return why
		}
		cur[c.Name] = nv
	default:
		return "unknown operation"
	}
	return ""
}
