package kafka

import (
	"net"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Authorization as Kafka's AclAuthorizer, against the gateway's one rule
// set (Options.Authz; nil allows everything). Each API checks what
// KafkaApis checks for it, and answers Kafka's error codes: per topic
// TOPIC_AUTHORIZATION_FAILED, per group GROUP_AUTHORIZATION_FAILED,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED.

// who is the connection's principal as of its latest login, from the read
// loop (requests decoded after a login carry it).
func (c *conn) who() authz.Who {
	p := authz.Anonymous
	if c.sasl.authenticated {
		p = authz.Principal(c.sasl.user)
	}
	if c.host == "" {
		addr := c.nc.RemoteAddr().String()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			c.host = host
		} else {
			c.host = addr
		}
	}
	return authz.Who{Principal: p, Host: c.host}
}

// allowed checks one operation on one resource for the request's principal.
func (r *request) allowed(op authz.Op, res authz.Resource, name string) bool {
	return r.c.h.opts.Authz.Allowed(r.who, op, res, name)
}

// allowedTopic checks an operation on a topic.
func (r *request) allowedTopic(op authz.Op, topic string) bool {
	return r.allowed(op, authz.Topic, topic)
}

// allowedCluster checks an operation on the cluster.
func (r *request) allowedCluster(op authz.Op) bool {
	return r.allowed(op, authz.Cluster, authz.ClusterName)
}

// authzOn reports whether requests are checked at all.
func (h *Handler) authzOn() bool { return h.opts.Authz != nil }

// mayCreate tells whether the principal may create a topic: CREATE on the
// cluster or on the topic, as Kafka's auto-creation and CreateTopics ask.
func (r *request) mayCreate(topic string) bool {
	return r.allowedCluster(authz.Create) || r.allowedTopic(authz.Create, topic)
}

// configRefusal is the authorization of Describe/AlterConfigs: op on the
// topic, or on the cluster for a broker's.
func (r *request) configRefusal(typ kmsg.ConfigResourceType, name string, op authz.Op) int16 {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if !r.allowedTopic(op, name) {
			return kerr.TopicAuthorizationFailed.Code
		}
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		if !r.allowedCluster(op) {
			return kerr.ClusterAuthorizationFailed.Code
		}
	}
	return 0
}

// actingAs is the Principal of the backend objects the request opens: the
// user, when the backend acts in the store as each client
// (bridge.ClientActor), else "" (the gateway's own).
func (r *request) actingAs() string {
	return bridge.ActingAs(r.c.h.b, strings.TrimPrefix(r.who.Principal, "User:"))
}
