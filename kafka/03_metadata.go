package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Metadata v0-v12. v4 adds allow_auto_topic_creation, v7 leader epochs, v9
// flexible, v10 topic ids (we send zero ids: Fetch stops at v12, which
// still names topics). One broker, this gateway's advertised address,
// leads every partition with epoch -1 (see DESIGN.md, many gateways).
func init() { register(3, 0, 12, handleMetadata) }

func handleMetadata(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.MetadataRequest)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: h.nodeID, Host: h.host, Port: h.port}}
	resp.ClusterID = kmsg.StringPtr("pulsar-gateway")
	resp.ControllerID = h.nodeID

	var names []string
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		var err error
		if names, err = h.topics.list(r.ctx); err != nil {
			// The backend is away: the topics known so far, leaderless.
			if names = h.topics.knownNames(); !retriable(err) || len(names) == 0 {
				return nil, err
			}
		}
		if h.offsetsTopicShown() {
			names = append(names, offsetsTopic)
		}
	} else {
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
			} else {
				resp.Topics = append(resp.Topics, kmsg.MetadataResponseTopic{TopicID: t.TopicID, ErrorCode: kerr.UnknownTopicID.Code})
			}
		}
	}
	autoCreate := !h.opts.DisableAutoCreate && (req.Version < 4 || req.AllowAutoTopicCreation) && !all
	for _, name := range names {
		if !r.allowedTopic(authz.Describe, name) {
			// As Kafka: all topics lists only what the principal may
			// describe; one named is refused.
			if !all {
				t := kmsg.NewMetadataResponseTopic()
				t.Topic, t.ErrorCode = kmsg.StringPtr(name), kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, t)
			}
			continue
		}
		resp.Topics = append(resp.Topics, h.topicMetadata(r, name, autoCreate))
	}
	return resp, nil
}

func (h *Handler) topicMetadata(r *request, name string, autoCreate bool) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	t.Topic = kmsg.StringPtr(name)
	if isInternal(name) {
		return h.internalMetadata(name)
	}
	if !validTopic(name) {
		t.ErrorCode = kerr.InvalidTopicException.Code
		return t
	}
	info, ok, err := h.topics.get(r.ctx, name)
	if err == nil && !ok && autoCreate {
		if !r.mayCreate(name) {
			t.ErrorCode = kerr.TopicAuthorizationFailed.Code
			return t
		}
		info, err = h.topics.create(r.ctx, name, h.opts.DefaultPartitions)
		ok = err == nil
	}
	if err != nil {
		if !h.leaderless(&t, name, err) {
			t.ErrorCode = errorCode(err)
		}
		return t
	}
	if !ok {
		t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		return t
	}
	for p := range int32(info.partitions) {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p
		mp.Leader = h.nodeID
		mp.LeaderEpoch = -1
		mp.Replicas = []int32{h.nodeID}
		mp.ISR = []int32{h.nodeID}
		t.Partitions = append(t.Partitions, mp)
	}
	return t
}
