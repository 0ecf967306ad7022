package pulsar_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// TestSendBatchEntries: batches the gateway builds itself (SendBatch) are
// read by the bridge's reader and by a native Pulsar reader exactly as
// messages sent one by one: key (none, empty, set), properties, event
// time, value (empty too), and an index that continues the partition's,
// across several entries per batch and between SendAsync messages.
func TestSendBatchEntries(t *testing.T) {
	be := openBackend(t)
	c := nativeClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topic := fmt.Sprintf("persistent://public/default/send-batch-%d", time.Now().UnixNano())
	if err := be.Admin().CreateTopic(ctx, topic, 2); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Admin().DeleteTopic(context.Background(), topic) })
	part := bridge.PartitionName(topic, 1)

	for _, compression := range []bridge.Compression{bridge.CompressionLZ4, bridge.CompressionNone} {
		p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: part, BatchingMaxMessages: 7,
			BatchingMaxBytes: 1 << 20, Compression: compression})
		if err != nil {
			t.Fatal(err)
		}
		bp, ok := p.(bridge.BatchProducer)
		if !ok {
			t.Fatal("the Pulsar producer is no BatchProducer")
		}
		base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
		var want []interopMsg
		var values []string
		mk := func(i int) bridge.OutMessage {
			// Compressible, so that LZ4 entries are stored compressed
			// (buildEntry leaves those LZ4 does not shrink uncompressed).
			m := bridge.OutMessage{Value: []byte(fmt.Sprintf("c%d-v%d-%s", compression, i, strings.Repeat("lz4 ", 16)))}
			switch i % 4 {
			case 0:
				m.Key = []byte("k" + strconv.Itoa(i))
				m.Properties = map[string]string{"i": strconv.Itoa(i), "h": "x"}
				m.EventTime = base.Add(time.Duration(i) * time.Millisecond)
			case 1:
				m.Key = []byte{} // empty, not absent
			case 2:
				m.Value = []byte{}
				m.Properties = map[string]string{"only": "props"}
			}
			return m
		}
		expect := func(m bridge.OutMessage, ix int64) {
			var props map[string]string
			if len(m.Properties) > 0 {
				props = m.Properties
			}
			want = append(want, interopMsg{partition: 1, index: ix, key: m.Key, props: props, eventTime: m.EventTime})
			values = append(values, string(m.Value))
		}
		first, err := p.Send(ctx, &bridge.OutMessage{Value: []byte(fmt.Sprintf("c%d-single", compression))})
		if err != nil {
			t.Fatal(err)
		}
		expect(bridge.OutMessage{Value: []byte(fmt.Sprintf("c%d-single", compression))}, first.Index)
		next := first.Index + 1
		for round := range 3 {
			msgs := make([]bridge.OutMessage, 20) // three entries of at most 7
			for i := range msgs {
				msgs[i] = mk(round*20 + i)
			}
			got := make(chan bridge.SendResult, 1)
			bp.SendBatch(ctx, msgs, func(r bridge.SendResult, err error) {
				if err != nil {
					t.Error(err)
				}
				got <- r
			})
			r := <-got
			if r.Index != next || r.Partition != 1 || r.Topic != part {
				t.Fatalf("batch %d: first at %s/%d index %d, want %s/1 index %d", round, r.Topic, r.Partition, r.Index, part, next)
			}
			for i, m := range msgs {
				expect(m, next+int64(i))
			}
			next += int64(len(msgs))
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}

		// The bridge's reader, from the single message on.
		rd, err := be.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartAtIndex(first.Index)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			m, err := rd.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Value) != values[i] {
				t.Fatalf("bridge reader: message %d is %q, want %q", i, m.Value, values[i])
			}
			checkSame(t, "bridge reader", values[i], want[i], fromBridge(m))
		}
		rd.Close()

		// A native reader: key, properties and event time as a Pulsar
		// producer would have sent them.
		nr, err := c.CreateReader(pulsar.ReaderOptions{Topic: part, StartMessageID: pulsar.EarliestMessageID()})
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for seen < len(want) {
			m, err := nr.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Payload()) != values[seen] {
				if seen == 0 {
					continue // an earlier round's messages
				}
				t.Fatalf("native reader: message %d is %q, want %q", seen, m.Payload(), values[seen])
			}
			w := want[seen]
			sameTime := m.EventTime().Equal(w.eventTime) || w.eventTime.IsZero() && m.EventTime().UnixMilli() == 0
			if m.Key() != string(w.key) || *m.Index() != uint64(w.index) || !sameTime {
				t.Errorf("native reader %q: key %q index %d time %v, want %q %d %v", values[seen], m.Key(), *m.Index(),
					m.EventTime(), w.key, w.index, w.eventTime)
			}
			if len(w.props) > 0 && m.Properties()["i"] != w.props["i"] {
				t.Errorf("native reader %q: properties %v, want %v", values[seen], m.Properties(), w.props)
			}
			seen++
		}
		nr.Close()
	}
}
