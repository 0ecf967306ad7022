package kafka

import (
	"context"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/submirror"
)

// newSubscriptionMirror mirrors committed offsets onto a durable Pulsar
// subscription named after the group (package submirror).
func newSubscriptionMirror(h *Handler) *submirror.Mirror {
	return submirror.New(h.b.Admin(), func(ctx context.Context, topic string, p int) (string, string, bool, error) {
		info, ok, err := h.topics.get(ctx, topic)
		if err != nil || !ok || p >= info.partitions {
			return "", "", false, err
		}
		return info.full, info.partition(int32(p)), true, nil
	}, h.log)
}
