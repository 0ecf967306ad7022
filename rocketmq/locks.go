package rocketmq

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// lockTable is the bridge state table of orderly consumers' queue locks (the broker's
// RebalanceLockManager), shared by every gateway: key group NUL topic NUL queue, value the
// holder and when it last locked. A lock lasts lockMaxLive unless renewed (clients renew
// every 20 s). Gateways take locks by read-then-write, not atomically: two gateways locking
// one queue for two clients in the same instant may both succeed, which the client's next
// renewal (20 s) settles.
const lockTable = "rocketmq-locks"

// lockMaxLive is rocketmq.broker.rebalance.lockMaxLiveTime's default.
const lockMaxLive = 60 * time.Second

type lockBody struct {
	ConsumerGroup string         `json:"consumerGroup"`
	ClientID      string         `json:"clientId"`
	MQSet         []messageQueue `json:"mqSet"`
}

type messageQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int    `json:"queueId"`
}

type lockRecord struct {
	Client string `json:"client"`
	At     int64  `json:"at"`
}

func lockKey(group string, mq messageQueue) string {
	return group + "\x00" + mq.Topic + "\x00" + strconv.Itoa(mq.QueueID)
}

// lockBatch is LOCK_BATCH_MQ: the queues of the request this client holds now (newly taken,
// renewed, or free since their holder's lock expired); body {"lockOKMQSet":[...]}.
func (c *conn) lockBatch(req *remoting.Command) {
	var body lockBody
	if err := json.Unmarshal(req.Body, &body); err != nil || body.ConsumerGroup == "" || body.ClientID == "" {
		c.errorReply(req, remoting.ResSystemError, "lock body is not LockBatchRequestBody")
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	now := time.Now()
	ok := []messageQueue{}
	for _, mq := range body.MQSet {
		key := lockKey(body.ConsumerGroup, mq)
		if v, found := c.h.locks.Get(key); found {
			var r lockRecord
			if json.Unmarshal(v, &r) == nil && r.Client != body.ClientID && now.Sub(time.UnixMilli(r.At)) < lockMaxLive {
				continue // held by another live client
			}
		}
		v, _ := json.Marshal(lockRecord{Client: body.ClientID, At: now.UnixMilli()})
		if err := c.h.locks.Put(ctx, key, v); err != nil {
			continue
		}
		ok = append(ok, mq)
	}
	res := req.NewResponse(remoting.ResSuccess, "")
	res.Body, _ = json.Marshal(map[string][]messageQueue{"lockOKMQSet": ok})
	c.reply(req, res)
}

// unlockBatch is UNLOCK_BATCH_MQ: the client's locks of these queues end.
func (c *conn) unlockBatch(req *remoting.Command) {
	var body lockBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		c.errorReply(req, remoting.ResSystemError, "unlock body is not UnlockBatchRequestBody")
		return
	}
	ctx, cancel := c.opCtx()
	defer cancel()
	for _, mq := range body.MQSet {
		key := lockKey(body.ConsumerGroup, mq)
		if v, found := c.h.locks.Get(key); found {
			var r lockRecord
			if json.Unmarshal(v, &r) == nil && r.Client == body.ClientID {
				c.h.locks.Delete(ctx, key)
			}
		}
	}
	c.reply(req, req.NewResponse(remoting.ResSuccess, ""))
}
