package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeClientQuotas v0-v1: the gateway enforces no client quotas, so
// none are configured and the answer is empty; AlterClientQuotas is not
// served, as a quota set there would not be enforced. kafka-configs
// --describe --entity-type users asks it beside the SCRAM credentials.
func init() { register(48, 0, 1, handleDescribeClientQuotas) }

func handleDescribeClientQuotas(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeClientQuotasRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !r.mayOnCluster(authz.DescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	resp.Entries = []kmsg.DescribeClientQuotasResponseEntry{} // null is an error to Kafka's admin client
	return resp, nil
}
