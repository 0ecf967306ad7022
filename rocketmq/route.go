package rocketmq

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// autoCreateTopicKey is the template topic producers look up when their topic has no route
// (TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC); its route says where auto-creation happens.
const autoCreateTopicKey = "TBW102"

// Permissions of a queue (PermName): read and write; TBW102 also inherit.
const (
	permRW      = 6
	permRWInher = 7
)

func noRouteRemark(topic string) string {
	return "No topic route info in name server for the topic: " + topic +
		"\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details."
}

// topicInfo looks a RocketMQ topic up in the backend.
func (h *Handler) topicInfo(ctx context.Context, topic string) (bridge.TopicInfo, error) {
	if validTopic(topic) != "" {
		return bridge.TopicInfo{}, bridge.ErrTopicNotFound
	}
	info, err := h.admin.Topic(ctx, h.pulsarTopic(topic))
	if err == nil {
		h.remember(topic)
	}
	return info, err
}

// routeJSON is TopicRouteData with the gateway as the one broker (id 0): one line, integer
// keys quoted (both fastjson and the Go client's hand parser take that form).
func (h *Handler) routeJSON(queues, perm int) []byte {
	addr, _ := json.Marshal(h.o.Advertised)
	n := strconv.Itoa(queues)
	return []byte(`{"brokerDatas":[{"brokerAddrs":{"0":` + string(addr) + `},"brokerName":"` + brokerName +
		`","cluster":"` + clusterName + `","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"` +
		brokerName + `","perm":` + strconv.Itoa(perm) + `,"readQueueNums":` + n + `,"topicSysFlag":0,"writeQueueNums":` + n + `}]}`)
}

func (c *conn) routeInfo(req *remoting.Command) {
	topic, ok := req.ExtFields["topic"]
	if !ok {
		c.missing(req, "topic")
		return
	}
	if topic == autoCreateTopicKey && c.h.o.AutoCreateTopics {
		res := req.NewResponse(remoting.ResSuccess, "")
		res.Body = c.h.routeJSON(8, permRWInher)
		c.reply(req, res)
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	info, err := c.h.topicInfo(ctx, topic)
	if err != nil {
		if !errors.Is(err, bridge.ErrTopicNotFound) {
			c.h.log.Warn("route lookup", zap.String("topic", topic), zap.Error(err))
			c.errorReply(req, remoting.ResSystemError, err.Error())
			return
		}
		c.errorReply(req, remoting.ResTopicNotExist, noRouteRemark(topic))
		return
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = c.h.routeJSON(queueCount(info), permRW)
	c.reply(req, res)
}

func (c *conn) clusterInfo(req *remoting.Command) {
	addr, _ := json.Marshal(c.h.o.Advertised)
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = []byte(`{"brokerAddrTable":{"` + brokerName + `":{"brokerAddrs":{"0":` + string(addr) + `},"brokerName":"` +
		brokerName + `","cluster":"` + clusterName + `","enableActingMaster":false}},"clusterAddrTable":{"` +
		clusterName + `":["` + brokerName + `"]}}`)
	c.reply(req, res)
}

func (c *conn) topicList(req *remoting.Command) {
	ctx, cancel := c.opCtx()
	defer cancel()
	topics, err := c.h.admin.ListTopics(ctx, c.h.o.Namespace)
	if err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	var list struct {
		TopicList []string `json:"topicList"`
	}
	list.TopicList = []string{}
	for _, t := range topics {
		n, err := bridge.ParseTopic(t.Name)
		if err != nil || !n.Persistent {
			continue
		}
		if _, _, isPart := n.PartitionIndex(); isPart {
			continue
		}
		if validTopic(n.Local) == "" {
			list.TopicList = append(list.TopicList, n.Local)
		}
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(list)
	c.reply(req, res)
}

// ensureTopic makes topic exist with at least queues queues.
func (h *Handler) ensureTopic(ctx context.Context, topic string, queues int) (bridge.TopicInfo, error) {
	full := h.pulsarTopic(topic)
	info, err := h.admin.Topic(ctx, full)
	if errors.Is(err, bridge.ErrTopicNotFound) {
		err = h.admin.CreateTopic(ctx, full, queues)
		if err != nil && !errors.Is(err, bridge.ErrTopicExists) {
			return bridge.TopicInfo{}, err
		}
		info, err = h.admin.Topic(ctx, full)
	}
	if err != nil {
		return bridge.TopicInfo{}, err
	}
	h.remember(topic)
	return info, nil
}

// createTopic is UPDATE_AND_CREATE_TOPIC: a new topic gets max(read, write) queues; an
// existing partitioned one grows to it (partitions never shrink).
func (c *conn) createTopic(req *remoting.Command) {
	topic := req.ExtFields["topic"]
	if msg := validTopic(topic); msg != "" {
		c.errorReply(req, remoting.ResSystemError, msg)
		return
	}
	if topic == autoCreateTopicKey {
		c.errorReply(req, remoting.ResSystemError, "The topic["+topic+"] is conflict with system topic.")
		return
	}
	r, _ := extInt(req, "readQueueNums")
	w, _ := extInt(req, "writeQueueNums")
	n := int(max(r, w, 1))
	if n > 1024 {
		c.errorReply(req, remoting.ResSystemError, "queue nums over 1024")
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	info, err := c.h.ensureTopic(ctx, topic, n)
	if err == nil && info.Partitions > 0 && info.Partitions < n {
		err = c.h.admin.UpdatePartitions(ctx, c.h.pulsarTopic(topic), n)
	}
	if err != nil {
		c.errorReply(req, remoting.ResSystemError, err.Error())
		return
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}

// isRetryOrDLQ says whether a topic is a group's %RETRY% or %DLQ% topic.
func isRetryOrDLQ(topic string) bool {
	return strings.HasPrefix(topic, retryPrefix) || strings.HasPrefix(topic, dlqPrefix)
}

const (
	retryPrefix = "%RETRY%"
	dlqPrefix   = "%DLQ%"
)
