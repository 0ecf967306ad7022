package rocketmq

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// TestGoClientSendAndConsume: rocketmq-client-go's producer sends sync, async, oneway and a
// batch to a new topic (auto-created through TBW102); a clustering push consumer subscribed
// to "TagA || TagB" gets exactly the messages with those tags, with body, tags, keys and
// user properties as sent, and the sync send's msgId.
func TestGoClientSendAndConsume(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic := unique("orders")
		p := newProducer(t, addr)
		ctx := context.Background()

		mk := func(i int, tag string) *primitive.Message {
			m := primitive.NewMessage(topic, []byte(fmt.Sprintf("body-%d", i)))
			if tag != "" {
				m.WithTag(tag)
			}
			m.WithKeys([]string{fmt.Sprintf("key-%d", i)})
			m.WithProperty("seq", fmt.Sprint(i))
			m.WithProperty("color", "blue")
			return m
		}
		res, err := p.SendSync(ctx, mk(0, "TagA"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != primitive.SendOK || res.MsgID == "" || res.OffsetMsgID == "" {
			t.Fatalf("sync send result %+v", res)
		}
		syncID := res.MsgID
		var wg sync.WaitGroup
		wg.Add(1)
		var asyncErr error
		err = p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			asyncErr = err
			wg.Done()
		}, mk(1, "TagB"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if asyncErr != nil {
			t.Fatal(asyncErr)
		}
		if err := p.SendOneWay(ctx, mk(2, "TagA")); err != nil {
			t.Fatal(err)
		}
		if _, err := p.SendSync(ctx, mk(3, "TagC")); err != nil { // filtered out
			t.Fatal(err)
		}
		if _, err := p.SendSync(ctx, mk(4, "")); err != nil { // no tag: filtered out
			t.Fatal(err)
		}
		batch := []*primitive.Message{mk(5, "TagA"), mk(6, "TagB"), mk(7, "TagA")}
		bres, err := p.SendSync(ctx, batch...)
		if err != nil {
			t.Fatal(err)
		}
		if bres.Status != primitive.SendOK || len(strings.Split(bres.OffsetMsgID, ",")) != 3 {
			t.Fatalf("batch send result %+v", bres)
		}

		r, _ := pushConsumer(t, addr, unique("cg"), unique("c"), topic, "TagA || TagB", nil)
		got := r.waitFor(t, 6, 60*time.Second)
		time.Sleep(time.Second) // nothing more may come
		got = r.all()
		var seqs []string
		for _, m := range got {
			seq := m.GetProperty("seq")
			seqs = append(seqs, seq)
			if string(m.Body) != "body-"+seq || m.GetKeys() != "key-"+seq || m.GetProperty("color") != "blue" {
				t.Errorf("message %s: body %q keys %q color %q", seq, m.Body, m.GetKeys(), m.GetProperty("color"))
			}
			want := map[string]string{"0": "TagA", "1": "TagB", "2": "TagA", "5": "TagA", "6": "TagB", "7": "TagA"}[seq]
			if m.GetTags() != want {
				t.Errorf("message %s: tag %q, want %q", seq, m.GetTags(), want)
			}
			if m.Topic != topic {
				t.Errorf("message %s: topic %q", seq, m.Topic)
			}
			if seq == "0" && m.MsgId != syncID {
				t.Errorf("message 0: msgId %s, the producer was told %s", m.MsgId, syncID)
			}
		}
		slices.Sort(seqs)
		if !slices.Equal(seqs, []string{"0", "1", "2", "5", "6", "7"}) {
			t.Errorf("received %v, want 0 1 2 5 6 7 once each", seqs)
		}
	})
}
