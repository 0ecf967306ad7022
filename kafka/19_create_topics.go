package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// CreateTopics v0-v7. A Kafka topic is always a partitioned Pulsar topic,
// so it can grow later. Replication belongs to Pulsar: a replication factor
// other than -1 or 1 and explicit replica assignments are refused rather
// than silently ignored. Configs are checked (topicconfigs.go) before the
// topic is created, and applied after.
func init() { register(19, 0, 7, handleCreateTopics) }

func handleCreateTopics(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		partitions := int(t.NumPartitions)
		if partitions == -1 {
			partitions = h.opts.DefaultPartitions
		}
		fail := func(e *kerr.Error, msg string) {
			rt.ErrorCode, rt.ErrorMessage = e.Code, kmsg.StringPtr(msg)
		}
		overrides, bad := h.createConfigs(t.Configs)
		switch {
		case !r.mayCreate(t.Topic):
			fail(kerr.TopicAuthorizationFailed, "not authorized to create "+t.Topic)
		case h.internalShown(t.Topic):
			fail(kerr.TopicAlreadyExists, "topic exists")
		case isInternal(t.Topic):
			fail(kerr.TopicAuthorizationFailed, t.Topic+" is internal; the gateway keeps offsets itself")
		case !validTopic(t.Topic):
			fail(kerr.InvalidTopicException, "topic names are [a-zA-Z0-9._-], at most 249 long, and may not contain -partition-")
		case len(t.ReplicaAssignment) > 0:
			fail(kerr.InvalidReplicaAssignment, "replica placement is Pulsar's")
		case partitions <= 0:
			fail(kerr.InvalidPartitions, "partitions must be positive")
		case t.ReplicationFactor != -1 && t.ReplicationFactor != 1:
			fail(kerr.InvalidReplicationFactor, "replication is configured in Pulsar; use -1 or 1")
		case bad != "":
			fail(kerr.InvalidConfig, bad)
		case req.ValidateOnly:
			if _, ok, _ := h.topics.get(r.ctx, t.Topic); ok {
				fail(kerr.TopicAlreadyExists, "topic exists")
			}
		default:
			err := h.b.Admin().CreateTopic(r.ctx, h.topics.fullName(t.Topic), partitions)
			h.topics.forget(t.Topic)
			if err == nil {
				// Also when none are set: a stale record of a topic of that
				// name deleted elsewhere goes.
				err = h.setTopicConfigs(r.ctx, h.topics.fullName(t.Topic), overrides)
			}
			if errors.Is(err, bridge.ErrTopicExists) {
				fail(kerr.TopicAlreadyExists, "topic exists")
			} else if err != nil {
				rt.ErrorCode, rt.ErrorMessage = errorCode(err), kmsg.StringPtr(err.Error())
			}
		}
		if rt.ErrorCode == 0 {
			rt.NumPartitions, rt.ReplicationFactor = int32(partitions), 1
		}
		// v5+ tells the topic's configs; Java reads the list without a
		// null check.
		rt.Configs = []kmsg.CreateTopicsResponseTopicConfig{}
		if rt.ErrorCode == 0 {
			for _, e := range h.describeEntries(overrides) {
				c := kmsg.NewCreateTopicsResponseTopicConfig()
				c.Name, c.Value, c.Source = e.name, kmsg.StringPtr(e.value), int8(kmsg.ConfigSourceDefaultConfig)
				if e.set {
					c.Source = int8(kmsg.ConfigSourceDynamicTopicConfig)
				}
				rt.Configs = append(rt.Configs, c)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// createConfigs checks a CreateTopics topic's configs: the overrides, or
// why one cannot be set.
func (h *Handler) createConfigs(cs []kmsg.CreateTopicsRequestTopicConfig) (map[string]string, string) {
	if len(cs) == 0 {
		return nil, ""
	}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		if why := h.checkTopicConfig(c.Name, c.Value); why != "" {
			return nil, why
		}
		out[c.Name] = *c.Value
	}
	return out, ""
}
