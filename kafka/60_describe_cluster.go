package kafka

import (
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeCluster v0-v1 (kafka-cluster.sh, Admin.describeCluster): this
// gateway as the one broker and the controller, as Metadata says.
func init() { register(60, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(h *Handler, r *request) (kmsg.Response, error) {
	req := r.kreq.(*kmsg.DescribeClusterRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClusterResponse)
	if !r.allowedCluster(authz.Describe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	resp.ClusterID = "pulsar-gateway" // as Metadata answers
	resp.ControllerID = h.nodeID
	resp.EndpointType = 1 // brokers
	b := kmsg.NewDescribeClusterResponseBroker()
	b.NodeID, b.Host, b.Port = h.nodeID, h.host, h.port
	resp.Brokers = []kmsg.DescribeClusterResponseBroker{b}
	resp.ClusterAuthorizedOperations = -2147483648 // not asked for / not computed
	return resp, nil
}
