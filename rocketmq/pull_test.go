package rocketmq

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// rawConn is a client connection speaking frames, for what clients do not show.
type rawConn struct {
	t      *testing.T
	w      *remoting.Writer
	r      *remoting.Reader
	opaque int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawConn{t: t, w: remoting.NewWriter(nc), r: remoting.NewReader(nc)}
}

func (c *rawConn) send(code int32, ext map[string]string) int32 {
	c.t.Helper()
	c.opaque++
	if err := c.w.WriteCommand(&remoting.Command{Code: code, Opaque: c.opaque, ExtFields: ext}); err != nil {
		c.t.Fatal(err)
	}
	c.w.Flush()
	return c.opaque
}

func (c *rawConn) read() *remoting.Command {
	c.t.Helper()
	res, err := c.r.ReadCommand()
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

func pullExt(topic string, offset int64, sysFlag int, suspendMs int, sub string) map[string]string {
	return map[string]string{"consumerGroup": "g", "topic": topic, "queueId": "0",
		"queueOffset": strconv.FormatInt(offset, 10), "maxMsgNums": "32", "sysFlag": strconv.Itoa(sysFlag),
		"commitOffset": "0", "suspendTimeoutMillis": strconv.Itoa(suspendMs), "subscription": sub,
		"subVersion": "0", "expressionType": "TAG"}
}

// TestPullCases: the broker's PULL_MESSAGE answers at the edges of a queue, by status: a pull
// at the end with SUSPEND is held and answered FOUND as soon as a message arrives, and
// PULL_NOT_FOUND at its suspend timeout; messages of other tags are skipped with
// PULL_RETRY_IMMEDIATELY past them; an offset beyond the end is PULL_OFFSET_MOVED to the end.
func TestPullCases(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		topic, p := oneQueueTopic(t, ctx, b, "pull")
		c := dialRaw(t, addr)
		const suspend = pullSuspend | pullSubscription

		// Held at the end of an empty queue until a message arrives.
		op := c.send(remoting.ReqPullMessage, pullExt(topic, 0, suspend, 20000, "TagA"))
		start := time.Now()
		time.Sleep(700 * time.Millisecond)
		if _, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("a"), Properties: map[string]string{"rocketmq.TAGS": "TagA"}}); err != nil {
			t.Fatal(err)
		}
		res := c.read()
		if res.Opaque != op || res.Code != remoting.ResSuccess || res.ExtFields["nextBeginOffset"] != "1" {
			t.Fatalf("held pull answered %v %v", res, res.ExtFields)
		}
		if waited := time.Since(start); waited < 600*time.Millisecond || waited > 10*time.Second {
			t.Errorf("held pull answered after %v: not held until the message came", waited)
		}

		// PULL_NOT_FOUND at the suspend timeout.
		start = time.Now()
		c.send(remoting.ReqPullMessage, pullExt(topic, 1, suspend, 1000, "TagA"))
		res = c.read()
		if res.Code != remoting.ResPullNotFound || time.Since(start) < 900*time.Millisecond {
			t.Errorf("idle pull: %v after %v, want PULL_NOT_FOUND after its 1 s", res, time.Since(start))
		}

		// Other tags skipped.
		for _, tag := range []string{"TagB", "TagB"} {
			if _, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("b"), Properties: map[string]string{"rocketmq.TAGS": tag}}); err != nil {
				t.Fatal(err)
			}
		}
		c.send(remoting.ReqPullMessage, pullExt(topic, 1, suspend, 1000, "TagA"))
		res = c.read()
		if res.Code != remoting.ResPullRetryImmediately || res.ExtFields["nextBeginOffset"] != "3" {
			t.Errorf("filtered pull: %v %v, want PULL_RETRY_IMMEDIATELY to 3", res, res.ExtFields)
		}

		// Beyond the end.
		c.send(remoting.ReqPullMessage, pullExt(topic, 9, pullSubscription, 0, "*"))
		res = c.read()
		if res.Code != remoting.ResPullOffsetMoved || res.ExtFields["nextBeginOffset"] != "3" {
			t.Errorf("pull past the end: %v %v, want PULL_OFFSET_MOVED to 3", res, res.ExtFields)
		}
		// At the end without SUSPEND: at once.
		c.send(remoting.ReqPullMessage, pullExt(topic, 3, pullSubscription, 0, "*"))
		if res = c.read(); res.Code != remoting.ResPullNotFound {
			t.Errorf("pull at the end: %v", res)
		}
		// No subscription known for the group: SUBSCRIPTION_NOT_EXIST.
		c.send(remoting.ReqPullMessage, pullExt(topic, 0, 0, 0, ""))
		if res = c.read(); res.Code != remoting.ResSubscriptionNotExist {
			t.Errorf("pull without subscription: %v", res)
		}
	})
}

// TestMemberExpiry: a member whose heartbeats stop (its connection still open) leaves the
// group's list after the expiry, and the group's other members are told.
func TestMemberExpiry(t *testing.T) {
	b := openBackend(t, "embedded")
	st, err := b.State(context.Background(), "members-test")
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan string, 10)
	m := newMemberTable(st, 400*time.Millisecond, func(g string) { changed <- g })
	defer m.close()
	if err := m.join(context.Background(), "g", "c1", memberRecord{}); err != nil {
		t.Fatal(err)
	}
	if got := m.list("g"); len(got) != 1 || got[0] != "c1" {
		t.Fatalf("members %v", got)
	}
	if g := <-changed; g != "g" {
		t.Fatalf("change of %q", g)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(m.list("g")) != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := m.list("g"); len(got) != 0 {
		t.Fatalf("members %v after the expiry", got)
	}
	select {
	case g := <-changed:
		if g != "g" {
			t.Fatalf("change of %q", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the expiry told no one")
	}
}

// TestOffsetsAndViewByID: GET_MIN_OFFSET, GET_MAX_OFFSET and SEARCH_OFFSET_BY_TIMESTAMP answer
// the queue's extent and the first index at a time; VIEW_MESSAGE_BY_ID finds a message by the
// physical offset in its offset msgId, as a stored record.
func TestOffsetsAndViewByID(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("offsets")
		p := newProducer(t, addr)
		var ids []string
		var mid time.Time
		for i := 0; i < 3; i++ {
			if i == 2 {
				time.Sleep(20 * time.Millisecond)
				mid = time.Now()
				time.Sleep(20 * time.Millisecond)
			}
			m := primitive.NewMessage(topic, []byte("m"+strconv.Itoa(i)))
			res, err := p.SendSync(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.OffsetMsgID+"@"+strconv.Itoa(res.MessageQueue.QueueId)+"@"+strconv.FormatInt(res.QueueOffset, 10))
		}
		c := dialRaw(t, addr)
		// The third message's queue.
		parts := strings.Split(ids[2], "@")
		q, off := parts[1], parts[2]
		c.send(remoting.ReqGetMaxOffset, map[string]string{"topic": topic, "queueId": q})
		if res := c.read(); res.Code != 0 || res.ExtFields["offset"] != strconv.Itoa(atoi(off)+1) {
			t.Errorf("max offset: %v %v, want %d", res, res.ExtFields, atoi(off)+1)
		}
		c.send(remoting.ReqGetMinOffset, map[string]string{"topic": topic, "queueId": q})
		if res := c.read(); res.Code != 0 || res.ExtFields["offset"] != "0" {
			t.Errorf("min offset: %v %v", res, res.ExtFields)
		}
		c.send(remoting.ReqSearchOffsetByTimestamp, map[string]string{"topic": topic, "queueId": q, "timestamp": strconv.FormatInt(mid.UnixMilli(), 10)})
		if res := c.read(); res.Code != 0 || res.ExtFields["offset"] != off {
			t.Errorf("offset at time: %v %v, want %s", res, res.ExtFields, off)
		}
		phys, ok := parseOffsetMsgID(parts[0])
		if !ok {
			t.Fatalf("offset msgId %s", parts[0])
		}
		c.send(remoting.ReqViewMessageByID, map[string]string{"offset": strconv.FormatInt(phys, 10)})
		res := c.read()
		if res.Code != 0 {
			t.Fatalf("view by id: %v", res)
		}
		recs := decodeStored(t, res.Body)
		if len(recs) != 1 || string(recs[0].body) != "m2" || recs[0].topic != topic || strconv.FormatInt(recs[0].queueOffset, 10) != off {
			t.Errorf("view by id gave %+v", recs)
		}
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
