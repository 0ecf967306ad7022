package rocketmq

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// The admin requests mqadmin's topicStatus, consumerProgress, consumerConnection and
// clusterList send the broker. Their bodies are fastjson's: a map keyed by MessageQueue is
// written with the key as a JSON object ({{"brokerName":..}:{..}}), which the Java client
// reads back.

func mqKey(topic string, queue int) string {
	t, _ := json.Marshal(topic)
	return `{"brokerName":"` + brokerName + `","queueId":` + strconv.Itoa(queue) + `,"topic":` + string(t) + `}`
}

// topicStats is GET_TOPIC_STATS_INFO: each queue's min and max offset.
func (c *conn) topicStats(req *remoting.Command) {
	topic := req.ExtFields["topic"]
	ctx, cancel := c.opCtx()
	defer cancel()
	info, err := c.h.topicInfo(ctx, topic)
	if err != nil {
		c.errorReply(req, remoting.ResTopicNotExist, "topic["+topic+"] not exist")
		return
	}
	var b strings.Builder
	b.WriteString(`{"offsetTable":{`)
	for q := 0; q < queueCount(info); q++ {
		rng, err := c.h.admin.IndexRange(ctx, partition(info.Name, info.Partitions, q))
		if err != nil {
			c.errorReply(req, remoting.ResSystemError, err.Error())
			return
		}
		if q > 0 {
			b.WriteByte(',')
		}
		b.WriteString(mqKey(topic, q) + `:{"lastUpdateTimestamp":0,"maxOffset":` + strconv.FormatInt(rng.Next, 10) +
			`,"minOffset":` + strconv.FormatInt(rng.First, 10) + `}`)
	}
	b.WriteString(`}}`)
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = []byte(b.String())
	c.reply(req, res)
}

// consumeStats is GET_CONSUME_STATS: per queue of the group's topics (or the one asked for)
// the queue's end and the group's committed offset.
func (c *conn) consumeStats(req *remoting.Command) {
	group := req.ExtFields["consumerGroup"]
	topics := map[string]bool{}
	if t := req.ExtFields["topic"]; t != "" {
		topics[t] = true
	} else {
		c.h.offsets.Range(group+"\x00", func(key string, _ []byte) bool {
			parts := strings.Split(key, "\x00")
			if len(parts) == 3 {
				topics[parts[1]] = true
			}
			return true
		})
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	var b strings.Builder
	b.WriteString(`{"consumeTps":0.0,"offsetTable":{`)
	first := true
	for _, topic := range slices.Sorted(func(yield func(string) bool) {
		for t := range topics {
			if !yield(t) {
				return
			}
		}
	}) {
		info, err := c.h.topicInfo(ctx, topic)
		if err != nil {
			continue // as the broker: a topic without config is left out
		}
		for q := 0; q < queueCount(info); q++ {
			rng, err := c.h.admin.IndexRange(ctx, partition(info.Name, info.Partitions, q))
			if err != nil {
				c.errorReply(req, remoting.ResSystemError, err.Error())
				return
			}
			committed := int64(0)
			if v, ok := c.h.offsets.Get(offsetKey(group, topic, q)); ok {
				committed, _ = strconv.ParseInt(string(v), 10, 64)
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(mqKey(topic, q) + `:{"brokerOffset":` + strconv.FormatInt(rng.Next, 10) +
				`,"consumerOffset":` + strconv.FormatInt(committed, 10) + `,"lastTimestamp":0,"pullOffset":` +
				strconv.FormatInt(committed, 10) + `}`)
		}
	}
	b.WriteString(`}}`)
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body = []byte(b.String())
	c.reply(req, res)
}

// consumerConnections is GET_CONSUMER_CONNECTION_LIST: the group's members on every gateway
// and the subscriptions this gateway knows.
func (c *conn) consumerConnections(req *remoting.Command) {
	group := req.ExtFields["consumerGroup"]
	type connection struct {
		ClientID   string `json:"clientId"`
		ClientAddr string `json:"clientAddr"`
		Language   string `json:"language"`
		Version    int32  `json:"version"`
	}
	type subData struct {
		ClassFilterMode bool     `json:"classFilterMode"`
		CodeSet         []int32  `json:"codeSet"`
		ExpressionType  string   `json:"expressionType"`
		SubString       string   `json:"subString"`
		SubVersion      int64    `json:"subVersion"`
		TagsSet         []string `json:"tagsSet"`
		Topic           string   `json:"topic"`
	}
	out := struct {
		ConnectionSet     []connection       `json:"connectionSet"`
		SubscriptionTable map[string]subData `json:"subscriptionTable"`
		ConsumeType       string             `json:"consumeType,omitempty"`
		MessageModel      string             `json:"messageModel,omitempty"`
		ConsumeFromWhere  string             `json:"consumeFromWhere,omitempty"`
	}{ConnectionSet: []connection{}, SubscriptionTable: map[string]subData{}}
	c.h.members.each(group, func(id string, r memberRecord) {
		lang := r.Lang
		if _, err := strconv.Atoi(lang); err == nil || lang == "" {
			lang = "OTHER"
		}
		out.ConnectionSet = append(out.ConnectionSet, connection{ClientID: id, ClientAddr: r.Addr, Language: lang, Version: r.Ver})
		out.ConsumeType, out.MessageModel, out.ConsumeFromWhere = r.Type, r.Model, r.From
	})
	if len(out.ConnectionSet) == 0 {
		c.errorReply(req, remoting.ResConsumerNotOnline, "the consumer group["+group+"] not online")
		return
	}
	now := time.Now().UnixMilli()
	for topic, sub := range c.h.subs.of(group) {
		sd := subData{ExpressionType: sub.typ, SubString: sub.expr, SubVersion: now, Topic: topic, TagsSet: []string{}, CodeSet: []int32{}}
		if sd.SubString == "" && sub.typ == exprTag {
			sd.SubString = "*"
		}
		for tag := range sub.f {
			sd.TagsSet = append(sd.TagsSet, tag)
			sd.CodeSet = append(sd.CodeSet, javaHash(tag))
		}
		out.SubscriptionTable[topic] = sd
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(out)
	c.reply(req, res)
}

// javaHash is Java's String.hashCode (of UTF-16 units), what tag codes are.
func javaHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// brokerRuntimeInfo is GET_BROKER_RUNTIME_INFO (clusterList): a KVTable of what the gateway
// can say; counters it does not keep are 0.
func (c *conn) brokerRuntimeInfo(req *remoting.Command) {
	table := map[string]string{
		"brokerVersionDesc":           "V5_1_4",
		"brokerVersion":               "441",
		"msgPutTotalYesterdayMorning": "0", "msgPutTotalTodayMorning": "0", "msgPutTotalTodayNow": "0",
		"msgGetTotalYesterdayMorning": "0", "msgGetTotalTodayMorning": "0", "msgGetTotalTodayNow": "0",
		"sendThreadPoolQueueHeadWaitTimeMills": "0", "pullThreadPoolQueueHeadWaitTimeMills": "0",
		"putTps": "0.0 0.0 0.0", "getTransferedTps": "0.0 0.0 0.0",
		"commitLogDiskRatio": "0.0", "dispatchBehindBytes": "0", "pageCacheLockTimeMills": "0",
		"earliestMessageTimeStamp": strconv.FormatInt(time.Now().UnixMilli(), 10), "startAcceptSendRequestTimeStamp": "0",
		"brokerActive": "true", "remainTransientStoreBufferNumbs": "0",
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(map[string]any{"table": table})
	c.reply(req, res)
}

// topicConfig is GET_TOPIC_CONFIG: the topic as a broker's TopicConfig.
func (c *conn) topicConfig(req *remoting.Command) {
	topic := req.ExtFields["topic"]
	ctx, cancel := c.opCtx()
	defer cancel()
	info, err := c.h.topicInfo(ctx, topic)
	if err != nil {
		c.errorReply(req, remoting.ResTopicNotExist, "No topic in this broker. topic: "+topic)
		return
	}
	n := queueCount(info)
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(map[string]any{"topicName": topic, "readQueueNums": n, "writeQueueNums": n,
		"perm": permRW, "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false, "attributes": map[string]string{}})
	c.reply(req, res)
}
