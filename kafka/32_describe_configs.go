package kafka

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs v0-v4, read-only: topic and broker settings live in
// Pulsar, so we report what Kafka tools ask about most, as defaults.
// AlterConfigs is not offered rather than accepted and ignored.
func init() { register(32, 0, 4, handleDescribeConfigs) }

func (h *Handler) topicConfigs() map[string]string {
	return map[string]string{
		"cleanup.policy":         "delete",
		"compression.type":       "producer",
		"max.message.bytes":      strconv.Itoa(int(h.opts.MaxRequestSize)),
		"message.timestamp.type": "CreateTime",
		"min.insync.replicas":    "1",
		"retention.ms":           "-1",
		"retention.bytes":        "-1",
	}
}

func (h *Handler) brokerConfigs() map[string]string {
	return map[string]string{
		"auto.create.topics.enable":  strconv.FormatBool(!h.opts.DisableAutoCreate),
		"num.partitions":             strconv.Itoa(h.opts.DefaultPartitions),
		"socket.request.max.bytes":   strconv.Itoa(int(h.opts.MaxRequestSize)),
		"default.replication.factor": "1",
	}
}

func handleDescribeConfigs(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		var configs map[string]string
		source := kmsg.ConfigSourceDefaultConfig
		switch res.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if isInternal(res.ResourceName) {
				if !h.internalShown(res.ResourceName) {
					rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				}
				// Kafka's: offsets are kept per key.
				configs = h.topicConfigs()
				configs["cleanup.policy"] = "compact"
				break
			}
			_, ok, err := h.topics.get(r.ctx, res.ResourceName)
			switch {
			case err != nil:
				rr.ErrorCode = errorCode(err)
			case !ok:
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			configs = h.topicConfigs()
		case kmsg.ConfigResourceTypeBroker:
			if res.ResourceName != "" && res.ResourceName != strconv.Itoa(int(h.nodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
			}
			configs, source = h.brokerConfigs(), kmsg.ConfigSourceStaticBrokerConfig
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
		}
		if rr.ErrorCode == 0 {
			for name, value := range configs {
				if !wanted(res.ConfigNames, name) {
					continue
				}
				c := kmsg.NewDescribeConfigsResponseResourceConfig()
				c.Name, c.Value, c.ReadOnly, c.IsDefault, c.Source = name, kmsg.StringPtr(value), true, true, source
				rr.Configs = append(rr.Configs, c)
			}
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp, nil
}

// wanted: a nil list asks for every config.
func wanted(names []string, name string) bool {
	if names == nil {
		return true
	}
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}
