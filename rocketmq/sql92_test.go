package rocketmq

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// TestGoClientSQL92: a Go push consumer subscribed with a SQL92 property filter gets exactly
// the messages the expression selects (by tag, by a user property compared as a number, by a
// string property), each once, and none of the others; a message without the properties
// (unknown) is not delivered.
func TestGoClientSQL92(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("sql")
		p := newProducer(t, addr)
		const expr = "(TAGS = 'TagA' AND n > 3) OR color = 'blue'"
		var want []string
		for i := 0; i < 14; i++ {
			m := primitive.NewMessage(topic, []byte(fmt.Sprint(i)))
			m.WithProperty("seq", fmt.Sprint(i))
			tag, color := []string{"TagA", "TagB"}[i%2], []string{"red", "blue", "green"}[i%3]
			if i < 12 {
				m.WithTag(tag)
				m.WithProperty("n", fmt.Sprint(i))
				m.WithProperty("color", color)
				if tag == "TagA" && i > 3 || color == "blue" {
					want = append(want, fmt.Sprint(i))
				}
			} // 12, 13: no tag and no properties: the expression is unknown, no match
			if _, err := p.SendSync(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := pushConsumerOf(t, addr, unique("sqlg"), unique("c"), topic,
			consumer.MessageSelector{Type: consumer.SQL92, Expression: expr}, nil)
		r.waitFor(t, len(want), 60*time.Second)
		time.Sleep(2 * time.Second) // anything more would come now
		got := seqsOf(r.all())
		slices.SortFunc(got, func(a, b string) int { return atoi(a) - atoi(b) })
		if !slices.Equal(got, want) {
			t.Fatalf("delivered %v, want exactly %v", got, want)
		}
	})
}

// TestSQL92BrokerAnswers: the broker's answers around SQL92 subscriptions, with
// enablePropertyFilter=true: CHECK_CLIENT_CONFIG takes an expression that compiles and
// refuses one that does not with SUBSCRIPTION_PARSE_FAILED and the compile error; a pull with
// its own SQL92 subscription is filtered (non-matching messages skipped with
// PULL_RETRY_IMMEDIATELY past them), and refused when the expression does not compile; a
// heartbeat's expression that does not compile leaves pulls FILTER_DATA_NOT_EXIST.
func TestSQL92BrokerAnswers(t *testing.T) {
	b := openBackend(t, "embedded")
	addr, _ := serve(t, b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic, p := oneQueueTopic(t, ctx, b, "sqlraw")
	for _, props := range []map[string]string{
		{"rocketmq.TAGS": "TagA", "n": "1"}, {"rocketmq.TAGS": "TagB", "n": "7"},
		{"rocketmq.TAGS": "TagA", "n": "x"}, {"rocketmq.TAGS": "TagA", "n": "9"},
	} {
		if _, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("v"), Properties: props}); err != nil {
			t.Fatal(err)
		}
	}
	c := dialRaw(t, addr)

	check := func(expr, typ string) *remoting.Command {
		body, _ := json.Marshal(map[string]any{"clientId": "1.2.3.4@1", "group": "g",
			"subscriptionData": map[string]any{"topic": topic, "subString": expr, "expressionType": typ}})
		c.opaque++
		if err := c.w.WriteCommand(&remoting.Command{Code: remoting.ReqCheckClientConfig, Opaque: c.opaque, Body: body}); err != nil {
			t.Fatal(err)
		}
		c.w.Flush()
		return c.read()
	}
	if res := check("TAGS = 'TagA' AND n > 3", "SQL92"); res.Code != remoting.ResSuccess {
		t.Errorf("CHECK_CLIENT_CONFIG of a good expression: %v %q", res.Code, res.Remark)
	}
	if res := check("TagA || TagB", "TAG"); res.Code != remoting.ResSuccess {
		t.Errorf("CHECK_CLIENT_CONFIG of a TAG expression: %v %q", res.Code, res.Remark)
	}
	if res := check("n > 'x'", "SQL92"); res.Code != remoting.ResSubscriptionParseFailed || !strings.Contains(res.Remark, "cannot be compared") {
		t.Errorf("CHECK_CLIENT_CONFIG of a bad expression: %v %q, want 23 with the error", res.Code, res.Remark)
	}
	if res := check("n = ", "SQL92"); res.Code != remoting.ResSubscriptionParseFailed || !strings.Contains(res.Remark, "ParseException") {
		t.Errorf("CHECK_CLIENT_CONFIG of a syntax error: %v %q, want 23 with the error", res.Code, res.Remark)
	}

	sqlPull := func(offset int64, expr string) *remoting.Command {
		ext := pullExt(topic, offset, pullSubscription, 0, expr)
		ext["expressionType"] = "SQL92"
		c.send(remoting.ReqPullMessage, ext)
		return c.read()
	}
	// n = 1 (TagA) does not match, n = 7 is TagB, n = "x" does not convert (an error: no
	// match), n = 9 matches.
	res := sqlPull(0, "TAGS = 'TagA' AND n > 3")
	if res.Code != remoting.ResSuccess || res.ExtFields["nextBeginOffset"] != "4" {
		t.Fatalf("SQL92 pull: %v %v, want FOUND up to 4", res, res.ExtFields)
	}
	if n := strings.Count(string(res.Body), "n\x019"); n != 1 || strings.Contains(string(res.Body), "n\x017") || strings.Contains(string(res.Body), "n\x01x") || strings.Contains(string(res.Body), "n\x011") {
		t.Errorf("SQL92 pull body %q: want only the message with n=9", res.Body)
	}
	if res := sqlPull(0, "n = 100"); res.Code != remoting.ResPullRetryImmediately || res.ExtFields["nextBeginOffset"] != "4" {
		t.Errorf("SQL92 pull matching nothing: %v %v, want PULL_RETRY_IMMEDIATELY to 4", res, res.ExtFields)
	}
	if res := sqlPull(0, "n >"); res.Code != remoting.ResSubscriptionParseFailed {
		t.Errorf("SQL92 pull with a bad expression: %v", res)
	}
	if res := sqlPull(0, ""); res.Code != remoting.ResSubscriptionParseFailed {
		t.Errorf("SQL92 pull with no expression: %v", res)
	}

	// A heartbeat's SQL92 subscription is what pulls without their own use.
	heartbeat := func(group, expr string) {
		body, _ := json.Marshal(map[string]any{"clientID": "1.2.3.4@" + group, "consumerDataSet": []any{map[string]any{
			"groupName": group, "messageModel": "CLUSTERING", "consumeType": "CONSUME_PASSIVELY",
			"subscriptionDataSet": []any{map[string]any{"topic": topic, "subString": expr, "expressionType": "SQL92"}}}}})
		c.opaque++
		if err := c.w.WriteCommand(&remoting.Command{Code: remoting.ReqHeartBeat, Opaque: c.opaque, Body: body}); err != nil {
			t.Fatal(err)
		}
		c.w.Flush()
		if res := response(c); res.Code != remoting.ResSuccess {
			t.Fatalf("heartbeat: %v", res)
		}
	}
	groupPull := func(group string) *remoting.Command {
		ext := pullExt(topic, 0, 0, 0, "")
		ext["consumerGroup"] = group
		c.send(remoting.ReqPullMessage, ext)
		return response(c)
	}
	heartbeat("good", "TAGS = 'TagB'")
	if res := groupPull("good"); res.Code != remoting.ResSuccess || !strings.Contains(string(res.Body), "n\x017") || strings.Contains(string(res.Body), "n\x019") {
		t.Errorf("pull by a heartbeat's SQL92 subscription: %v %q", res, res.Body)
	}
	heartbeat("bad", "TAGS = ")
	if res := groupPull("bad"); res.Code != remoting.ResFilterDataNotExist {
		t.Errorf("pull by a heartbeat's bad SQL92 subscription: %v, want FILTER_DATA_NOT_EXIST", res)
	}
}

// response reads the next response, past the broker's own requests (NOTIFY_CONSUMER_IDS_CHANGED
// after a heartbeat).
func response(c *rawConn) *remoting.Command {
	for {
		if cmd := c.read(); cmd.IsResponse() {
			return cmd
		}
	}
}

// TestSQL92Properties: a SQL92 expression sees a stored message's properties as a RocketMQ
// consumer gets them: RocketMQ's own (stored under rocketmq.) by their names, user properties
// as they are, KEYS from the message key when another protocol wrote it, and not the Kafka
// handler's internal ones.
func TestSQL92Properties(t *testing.T) {
	m := &bridge.Message{Key: []byte("k1"), Properties: map[string]string{
		"rocketmq.TAGS": "TagA", "color": "blue", "rocketmq.flag": "3", "__kafka_x": "1", "UNIQ_KEY": "plain"}}
	for expr, want := range map[string]bool{
		"TAGS = 'TagA'":      true,
		"color = 'blue'":     true,
		"KEYS = 'k1'":        true,
		"UNIQ_KEY = 'plain'": true, // one of RocketMQ's names, written by another protocol: as delivered
		"flag IS NULL":       true, // the stored record's flag is no property
		"__kafka_x IS NULL":  true,
		"TAGS = 'TagB'":      false,
	} {
		sub := newSubscription(exprSQL92, expr)
		if sub.err != nil {
			t.Fatal(sub.err)
		}
		if got := sub.match(m); got != want {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
}
