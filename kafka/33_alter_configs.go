package kafka

import (
	"maps"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs v0-v2, for topics: the request's configs replace every
// override the topic had, checked as CreateTopics checks them
// (topicconfigs.go). Broker settings are the gateway's configuration.
func init() { register(33, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range req.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		rr.ErrorCode, rr.ErrorMessage = h.alterTopic(r, res.ResourceType, res.ResourceName, req.ValidateOnly,
			func(map[string]string) (map[string]string, string) {
				out := map[string]string{}
				for _, c := range res.Configs {
					if why := h.checkTopicConfig(c.Name, c.Value); why != "" {
						return nil, why
					}
					out[c.Name] = *c.Value
				}
				return out, ""
			})
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// alterTopic changes a topic's overrides to what change makes of them and
// returns the resource's error code and message.
func (h *Handler) alterTopic(r *request, typ kmsg.ConfigResourceType, name string, validateOnly bool,
	change func(cur map[string]string) (map[string]string, string)) (int16, *string) {
	ctx := r.ctx
	fail := func(e *kerr.Error, msg string) (int16, *string) { return e.Code, kmsg.StringPtr(msg) }
	if code := r.configRefusal(typ, name, authz.AlterConfigs); code != 0 {
		return code, nil
	}
	switch {
	case typ == kmsg.ConfigResourceTypeBroker || typ == kmsg.ConfigResourceTypeBrokerLogger:
		return fail(kerr.InvalidConfig, "broker settings are the gateway's configuration; it changes none through Kafka")
	case typ != kmsg.ConfigResourceTypeTopic:
		return fail(kerr.InvalidRequest, "only topic configs can be altered")
	case isInternal(name):
		return h.internalRefusal(name), nil
	}
	info, ok, err := h.topics.get(ctx, name)
	switch {
	case err != nil:
		return errorCode(err), kmsg.StringPtr(err.Error())
	case !ok:
		return kerr.UnknownTopicOrPartition.Code, nil
	}
	next, why := change(maps.Clone(h.configs.overrides(info.full)))
	if why != "" {
		return fail(kerr.InvalidConfig, why)
	}
	if validateOnly {
		return 0, nil
	}
	if err := h.setTopicConfigs(ctx, info.full, next); err != nil {
		return errorCode(err), kmsg.StringPtr(err.Error())
	}
	return 0, nil
}
