package bridgetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// ackRestartTests: what a consumer acknowledged stays acknowledged across a
// restart, however it acknowledged; what it did not comes back.
func ackRestartTests() []testCase {
	return []testCase{
		{"Individual", ackRestart(ackEach, true)},
		{"Cumulative", ackRestart(ackCumulativeTo6, false)},
		{"Holes", ackRestart(ackWithHoles, true)},
		{"NackThenAck", ackRestart(nackThenAck, true)},
	}
}

// ackRestartN is how many messages each case's topic holds.
const ackRestartN = 10

// ackWay acknowledges some of msgs (indexes 0..ackRestartN-1) on c and
// returns the indexes it left unacknowledged.
type ackWay func(t *testing.T, h Harness, c bridge.Consumer, msgs []*bridge.Message) []int64

func ackEach(t *testing.T, _ Harness, c bridge.Consumer, msgs []*bridge.Message) []int64 {
	for _, m := range msgs {
		mustAck(t, c, m)
	}
	return nil
}

func ackCumulativeTo6(t *testing.T, _ Harness, c bridge.Consumer, msgs []*bridge.Message) []int64 {
	if err := c.AckCumulative(byIndex(t, msgs, 6).ID); err != nil {
		t.Fatalf("AckCumulative(6): %v", err)
	}
	return []int64{7, 8, 9}
}

// ackWithHoles acks out of order, leaving holes below the highest ack.
func ackWithHoles(t *testing.T, _ Harness, c bridge.Consumer, msgs []*bridge.Message) []int64 {
	for _, i := range []int64{9, 0, 5, 2, 7, 8} {
		mustAck(t, c, byIndex(t, msgs, i))
	}
	return []int64{1, 3, 4, 6}
}

// nackThenAck nacks two messages, acks the others, then acks the two when
// they come again.
func nackThenAck(t *testing.T, h Harness, c bridge.Consumer, msgs []*bridge.Message) []int64 {
	for _, m := range msgs {
		if m.Index == 2 || m.Index == 5 {
			c.Nack(m.ID)
		} else {
			mustAck(t, c, m)
		}
	}
	again := recvN(t, h, c, 2)
	if idx := sortedIndexes(again); !slices.Equal(idx, []int64{2, 5}) {
		t.Fatalf("after nacking 2 and 5 the consumer got %v", idx)
	}
	for _, m := range again {
		mustAck(t, c, m)
	}
	return nil
}

func byIndex(t *testing.T, msgs []*bridge.Message, idx int64) *bridge.Message {
	t.Helper()
	for _, m := range msgs {
		if m.Index == idx {
			return m
		}
	}
	t.Fatalf("no message with index %d in %s", idx, indexesOf(msgs))
	return nil
}

// ackRestart runs way on each subscription type, for a subscription made by
// Subscribe and one made by the admin API first (as AMQP queues and Kafka
// groups are), with the consumer closed before the restart or still
// attached, and without waiting for the acks to land before it: the
// restarted backend's backlog counts only what was left unacknowledged,
// and a new consumer gets exactly that.
func ackRestart(way ackWay, shared bool) func(t *testing.T, h Harness) {
	return func(t *testing.T, h Harness) {
		needReopen(t, h)
		types := []bridge.SubscriptionType{bridge.Exclusive, bridge.Failover}
		if shared {
			types = append(types, bridge.Shared)
		}
		setups := []struct {
			name            string
			created, closed bool
		}{
			{"subscribed", false, false},
			{"subscribed-closed", false, true},
			{"created-closed", true, true},
		}
		type tcase struct {
			what  string
			topic string
			typ   bridge.SubscriptionType
			back  []int64
		}
		b := newBackend(t, h)
		var cases []tcase
		for _, typ := range types {
			for _, s := range setups {
				what := fmt.Sprintf("%v subscription %s", typ, s.name)
				topic := newTopic(t, h, b, 0, fmt.Sprintf("%d-%s", typ, s.name))
				produceTo(t, h, b, topic, plainMsgs(ackRestartN))
				if s.created {
					mustCreateSub(t, h, b, topic, "s", 0)
				}
				c := subscribe(t, h, b, ackRestartOpts(topic, typ))
				msgs := recvN(t, h, c, ackRestartN)
				checkIndexes(t, sortedMsgs(msgs), 0)
				back := way(t, h, c, msgs)
				if s.closed {
					mustClose(t, c)
				}
				cases = append(cases, tcase{what, topic, typ, back})
			}
		}

		b = reopen(t, h, b)
		for _, tc := range cases {
			// Every case is checked, so a failure names all that lost acks.
			if why := backlogWithin(t, h, b, tc.topic, int64(len(tc.back))); why != "" {
				t.Errorf("%s after the restart: %s (unacknowledged %v)", tc.what, why, tc.back)
				continue
			}
			c := subscribe(t, h, b, ackRestartOpts(tc.topic, tc.typ))
			if len(tc.back) > 0 {
				got := recvAck(t, h, c, len(tc.back))
				if idx := sortedIndexes(got); !slices.Equal(idx, tc.back) {
					t.Errorf("%s: after the restart got %v, want the unacknowledged %v", tc.what, idx, tc.back)
				}
			}
			ctx := ctxFor(t, h.Quiet)
			if m, err := c.Receive(ctx); err == nil {
				t.Errorf("%s: an acknowledged message came back after the restart: %s", tc.what, describe(m))
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: Receive with nothing to receive: %v", tc.what, err)
			}
			mustClose(t, c)
		}
	}
}

// backlogWithin waits up to h.Wait for subscription "s" of topic to report
// backlog want, and says what it saw when it does not.
func backlogWithin(t *testing.T, h Harness, b bridge.Backend, topic string, want int64) string {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for {
		s, ok := subInfo(t, h, b, topic, "s")
		why := "subscription not listed"
		if ok {
			why = fmt.Sprintf("backlog %d, want %d", s.Backlog, want)
			if s.Backlog == want {
				return ""
			}
		}
		if time.Now().After(deadline) {
			return why
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ackRestartOpts(topic string, typ bridge.SubscriptionType) bridge.SubscribeOptions {
	o := subOpts(topic, "s", typ)
	o.NackRedeliveryDelay = 100 * time.Millisecond
	return o
}

// sortedMsgs is msgs sorted by index.
func sortedMsgs(msgs []*bridge.Message) []*bridge.Message {
	out := slices.Clone(msgs)
	slices.SortFunc(out, func(a, b *bridge.Message) int { return int(a.Index - b.Index) })
	return out
}
