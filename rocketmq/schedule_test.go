package rocketmq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// nativeReader reads a RocketMQ topic's queue 0 as a native Pulsar client would.
func nativeReader(t *testing.T, b bridge.Backend, h *Handler, topic string) bridge.Reader {
	t.Helper()
	info, err := h.ensureTopic(context.Background(), topic, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.CreateReader(context.Background(), bridge.ReaderOptions{Topic: partition(info.Name, info.Partitions, 0), Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// readUntil is the next message of r before the deadline, nil when none came.
func readUntil(t *testing.T, r bridge.Reader, deadline time.Time) *bridge.Message {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	m, err := r.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestScheduleNotVisibleBeforeDue: a delay-level message and a delivery-time message are
// not in their real topic for a native reader (what Kafka, MQTT and AMQP read too) before
// they are due, and are after, with the properties the broker leaves on them.
func TestScheduleNotVisibleBeforeDue(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, h := serve(t, b, nil)
		p := newProducer(t, addr)

		topic := unique("sched")
		r := nativeReader(t, b, h, topic)
		m := primitive.NewMessage(topic, []byte("level2"))
		m.WithDelayTimeLevel(2)
		// The real broker answers the message's offset in the level's schedule queue. On
		// Pulsar that topic outlives the test: earlier runs' entries come first.
		var want int64
		if rng, err := h.admin.IndexRange(context.Background(), h.pulsarTopic(scheduleTopic(2))); err == nil {
			want = rng.Next
		} else if !errors.Is(err, bridge.ErrTopicNotFound) {
			t.Fatal(err)
		}
		sent := time.Now()
		res, err := p.SendSync(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if got := readUntil(t, r, sent.Add(4500*time.Millisecond)); got != nil {
			t.Fatalf("level 2 message readable %v after sending: %q", time.Since(sent), got.Value)
		}
		got := readUntil(t, r, sent.Add(20*time.Second))
		if got == nil || string(got.Value) != "level2" {
			t.Fatalf("level 2 message not moved to its topic: %v", got)
		}
		if d := time.Since(sent); d < 4900*time.Millisecond {
			t.Errorf("moved after %v, before its 5 s", d)
		}
		for k, v := range map[string]string{mcDelay: "2", mcRealTopic: topic, mcRealQID: "0"} {
			if got.Properties[propPrefix+k] != v {
				t.Errorf("moved message %s = %q, want %q (properties %v)", k, got.Properties[propPrefix+k], v, got.Properties)
			}
		}
		for _, k := range []string{propRealTopic, propRealQueue, propDeliverAt, propTimerOut} {
			if _, ok := got.Properties[k]; ok {
				t.Errorf("moved message keeps the schedule's %s", k)
			}
		}
		if res.QueueOffset != want {
			t.Errorf("send answered queueOffset %d, want the schedule offset %d", res.QueueOffset, want)
		}

		// A delivery time 7 s ahead takes two hops (5 s, then 2 s... in 1 s steps).
		topic2 := unique("timer")
		r2 := nativeReader(t, b, h, topic2)
		at := time.Now().Add(7 * time.Second)
		tm := primitive.NewMessage(topic2, []byte("timer"))
		tm.WithDelayTimestamp(at)
		if _, err := p.SendSync(context.Background(), tm); err != nil {
			t.Fatal(err)
		}
		if got := readUntil(t, r2, at.Add(-1500*time.Millisecond)); got != nil {
			t.Fatalf("delivery-time message readable %v before its time", time.Until(at))
		}
		got = readUntil(t, r2, at.Add(20*time.Second))
		if got == nil || string(got.Value) != "timer" {
			t.Fatalf("delivery-time message not moved: %v", got)
		}
		if early := time.Until(at); early > 1100*time.Millisecond {
			t.Errorf("delivered %v before its time (precision 1 s)", early)
		} else if late := -early; late > 3*time.Second {
			t.Errorf("delivered %v after its time", late)
		}
		for _, k := range []string{mcTimerDeliverMS, "TIMER_OUT_MS", "TIMER_ENQUEUE_MS", "TIMER_DEQUEUE_MS", mcRealTopic, mcRealQID} {
			if _, ok := got.Properties[propPrefix+k]; !ok {
				t.Errorf("moved delivery-time message lacks %s (properties %v)", k, got.Properties)
			}
		}
		if got.Properties[propPrefix+mcRealTopic] != topic2 {
			t.Errorf("REAL_TOPIC %q, want %q", got.Properties[propPrefix+mcRealTopic], topic2)
		}
	})
}

// TestScheduleNoHeadOfLine: an undelayed message sent after a delayed one to the same queue
// reaches a push consumer at once; the delayed one comes when due.
func TestScheduleNoHeadOfLine(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, h := serve(t, b, nil)
		topic := unique("hol")
		if _, err := h.ensureTopic(context.Background(), topic, 1); err != nil {
			t.Fatal(err)
		}
		sendN(t, addr, topic, 0, 1)
		r, _ := pushConsumer(t, addr, unique("holg"), unique("c"), topic, "*", nil)
		r.waitFor(t, 1, 60*time.Second)
		p := newProducer(t, addr)
		d := primitive.NewMessage(topic, []byte("delayed"))
		d.WithDelayTimeLevel(3) // 10 s
		sent := time.Now()
		if _, err := p.SendSync(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SendSync(context.Background(), primitive.NewMessage(topic, []byte("now"))); err != nil {
			t.Fatal(err)
		}
		got := r.waitFor(t, 2, 5*time.Second)
		if string(got[1].Body) != "now" || time.Since(sent) > 5*time.Second {
			t.Fatalf("undelayed message held back: got %q after %v", got[1].Body, time.Since(sent))
		}
		got = r.waitFor(t, 3, 30*time.Second)
		if string(got[2].Body) != "delayed" {
			t.Fatalf("third message %q, want the delayed one", got[2].Body)
		}
		if el := time.Since(sent); el < 9900*time.Millisecond {
			t.Errorf("delayed message came after %v, before its 10 s", el)
		}
	})
}

// TestScheduleMoveRepeatedAfterCrash: a move interrupted after its send and before its ack
// (the handler closed in between) is repeated by the next handler on the same store: the
// message may come twice, never not at all.
func TestScheduleMoveRepeatedAfterCrash(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		moved := make(chan struct{}, 1)
		addr, h := serve(t, b, func(o *Options) {
			o.afterMove = func(ctx context.Context) bool {
				moved <- struct{}{}
				<-ctx.Done()
				return false
			}
		})
		topic := unique("crash")
		r := nativeReader(t, b, h, topic)
		p := newProducer(t, addr)
		m := primitive.NewMessage(topic, []byte("once"))
		m.WithDelayTimeLevel(1)
		if _, err := p.SendSync(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		select {
		case <-moved:
		case <-time.After(20 * time.Second):
			t.Fatal("not moved")
		}
		first := readUntil(t, r, time.Now().Add(10*time.Second))
		if first == nil {
			t.Fatal("moved message not in its topic")
		}
		h.Close()

		serve(t, b, nil)
		again := readUntil(t, r, time.Now().Add(20*time.Second))
		if again == nil {
			t.Fatal("the unacknowledged move was not repeated by the next handler")
		}
		if string(again.Value) != "once" || again.Properties[propPrefix+mcUniqKey] != first.Properties[propPrefix+mcUniqKey] {
			t.Errorf("repeated move %q %v, want the same message", again.Value, again.Properties)
		}
		if extra := readUntil(t, r, time.Now().Add(3*time.Second)); extra != nil {
			t.Errorf("moved a third time: %q", extra.Value)
		}
	})
}

// TestScheduleForeignEntry: something another protocol wrote to a schedule topic (no real
// topic) is dropped rather than blocking its level's later messages.
func TestScheduleForeignEntry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, h := serve(t, b, nil)
		pr, err := b.CreateProducer(context.Background(), bridge.ProducerOptions{Topic: h.pulsarTopic(scheduleTopic(1))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pr.Send(context.Background(), &bridge.OutMessage{Value: []byte("stray")}); err != nil {
			t.Fatal(err)
		}
		pr.Close()
		topic := unique("foreign")
		r := nativeReader(t, b, h, topic)
		m := primitive.NewMessage(topic, []byte("after"))
		m.WithDelayTimeLevel(1)
		if _, err := newProducer(t, addr).SendSync(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if got := readUntil(t, r, time.Now().Add(15*time.Second)); got == nil || string(got.Value) != "after" {
			t.Fatalf("level 1 message behind a stray entry: %v", got)
		}
	})
}

// TestScheduleOneMoverPerLevel: two gateways on one backend move each delayed message once
// (one holds a level's Exclusive subscription, the other waits), and when the one moving goes
// the other takes the level over.
func TestScheduleOneMoverPerLevel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		movedBy := make(chan int, 10)
		gateway := func(n int) (string, *Handler) {
			return serve(t, b, func(o *Options) {
				o.afterMove = func(context.Context) bool {
					movedBy <- n
					return true
				}
			})
		}
		addr0, h0 := gateway(0)
		addr1, h1 := gateway(1)
		addrs, handlers := []string{addr0, addr1}, []*Handler{h0, h1}
		topic := unique("movers")
		r := nativeReader(t, b, h0, topic)
		send := func(addr, body string) {
			t.Helper()
			m := primitive.NewMessage(topic, []byte(body))
			m.WithDelayTimeLevel(1)
			if _, err := newProducer(t, addr).SendSync(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		send(addr0, "first")
		if got := readUntil(t, r, time.Now().Add(20*time.Second)); got == nil || string(got.Value) != "first" {
			t.Fatalf("first delayed message not moved: %v", got)
		}
		if extra := readUntil(t, r, time.Now().Add(3*time.Second)); extra != nil {
			t.Fatalf("moved twice: %q", extra.Value)
		}
		mover := <-movedBy
		if len(movedBy) > 0 {
			t.Fatalf("both gateways moved the message")
		}
		handlers[mover].Close()
		other := 1 - mover
		send(addrs[other], "second")
		if got := readUntil(t, r, time.Now().Add(30*time.Second)); got == nil || string(got.Value) != "second" {
			t.Fatalf("delayed message not moved once the moving gateway went: %v", got)
		}
		if by := <-movedBy; by != other {
			t.Fatalf("moved by gateway %d, which was closed", by)
		}
	})
}
