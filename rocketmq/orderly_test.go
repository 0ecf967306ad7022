package rocketmq

import (
	"fmt"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// TestQueueLocks: a queue one client locked is not locked for another until the first
// unlocks it; a client renews its own lock.
func TestQueueLocks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		group := unique("lg")
		c := dialRaw(t, addr)
		lock := func(code int32, client string) string {
			body := fmt.Sprintf(`{"consumerGroup":%q,"clientId":%q,"mqSet":[{"topic":"t","brokerName":"pulsar-gateway","queueId":0}]}`, group, client)
			c.opaque++
			c.w.WriteCommand(&remoting.Command{Code: code, Opaque: c.opaque, Body: []byte(body)})
			c.w.Flush()
			res := c.read()
			if res.Code != 0 {
				t.Fatalf("%v", res)
			}
			return string(res.Body)
		}
		const held = `{"lockOKMQSet":[{"topic":"t","brokerName":"pulsar-gateway","queueId":0}]}`
		const none = `{"lockOKMQSet":[]}`
		if got := lock(remoting.ReqLockBatchMQ, "a"); got != held {
			t.Fatalf("a's lock: %s", got)
		}
		if got := lock(remoting.ReqLockBatchMQ, "b"); got != none {
			t.Fatalf("b's lock of a's queue: %s", got)
		}
		if got := lock(remoting.ReqLockBatchMQ, "a"); got != held {
			t.Fatalf("a's renewal: %s", got)
		}
		lock(remoting.ReqUnlockBatchMQ, "a")
		if got := lock(remoting.ReqLockBatchMQ, "b"); got != held {
			t.Fatalf("b's lock after a's unlock: %s", got)
		}
	})
}
