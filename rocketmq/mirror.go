package rocketmq

import (
	"context"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/submirror"
)

// subscriptionPrefix names the durable Pulsar subscription a RocketMQ group's offsets are
// mirrored onto: "rocketmq-" and the group, apart from a Kafka group of the same name.
const subscriptionPrefix = "rocketmq-"

// newOffsetMirror mirrors committed offsets onto a durable Pulsar subscription per group, as
// the Kafka handler does for its groups (package submirror).
func newOffsetMirror(h *Handler) *submirror.Mirror {
	return submirror.New(h.admin, func(ctx context.Context, topic string, q int) (string, string, bool, error) {
		info, err := h.cachedTopic(ctx, topic)
		if err != nil || q >= queueCount(info) {
			return "", "", false, err
		}
		return info.Name, partition(info.Name, info.Partitions, q), true, nil
	}, h.log)
}
