package pulsar

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/wire"
)

// fakeFrame is a broker command frame: BaseCommand{type, field type: body}.
func fakeFrame(typ int, body []byte) []byte {
	cmd := protowire.AppendTag(nil, 1, protowire.VarintType)
	cmd = protowire.AppendVarint(cmd, uint64(typ))
	cmd = protowire.AppendTag(cmd, protowire.Number(typ), protowire.BytesType)
	cmd = protowire.AppendBytes(cmd, body)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(cmd)+4))
	out = binary.BigEndian.AppendUint32(out, uint32(len(cmd)))
	return append(out, cmd...)
}

func pbVarint(b []byte, n protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
}

func pbString(b []byte, n protowire.Number, s string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, n, protowire.BytesType), s)
}

// sendSeq reads a SEND frame's sequence id (BaseCommand.send.sequence_id).
func sendSeq(frame []byte) uint64 {
	cmd := frame[4 : 4+binary.BigEndian.Uint32(frame)]
	var seq uint64
	for len(cmd) > 0 {
		num, typ, n := protowire.ConsumeTag(cmd)
		cmd = cmd[n:]
		if num == wire.TypeSend && typ == protowire.BytesType {
			body, _ := protowire.ConsumeBytes(cmd)
			for len(body) > 0 {
				f, ft, m := protowire.ConsumeTag(body)
				body = body[m:]
				v, k := protowire.ConsumeVarint(body)
				if f == 2 && ft == protowire.VarintType {
					seq = v
				}
				body = body[k:]
			}
		}
		cmd = cmd[protowire.ConsumeFieldValue(num, typ, cmd):]
	}
	return seq
}

// fakeBroker answers CONNECT, LOOKUP and PRODUCER, acknowledges the first
// receipts SENDs of each connection and then drops it.
func fakeBroker(t *testing.T, receipts int) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	url := "pulsar://" + ln.Addr().String()
	go func() {
		for ledger := uint64(1); ; ledger++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				r := bufio.NewReader(nc)
				sends := 0
				for {
					var head [4]byte
					if _, err := io.ReadFull(r, head[:]); err != nil {
						return
					}
					frame := make([]byte, binary.BigEndian.Uint32(head[:]))
					if _, err := io.ReadFull(r, frame); err != nil {
						return
					}
					c, _ := wire.ParseFrame(frame)
					var out []byte
					switch c.Type {
					case wire.TypeConnect:
						out = fakeFrame(wire.TypeConnected, pbVarint(pbString(nil, 1, "fake"), 3, 5<<20))
					case wire.TypeLookup:
						b := pbString(nil, 1, url)
						b = pbVarint(b, 3, wire.LookupConnect)
						out = fakeFrame(wire.TypeLookupResponse, pbVarint(pbVarint(b, 4, 1), 5, 1))
					case wire.TypeProducer:
						b := pbString(pbVarint(nil, 1, 2), 2, "fake-producer")
						minusOne := int64(-1)
						out = fakeFrame(wire.TypeProducerSuccess, pbVarint(b, 3, uint64(minusOne)))
					case wire.TypeSend:
						if sends++; sends > receipts {
							return // drop the connection, receipts owed
						}
						id := pbVarint(pbVarint(nil, 1, ledger), 2, uint64(sends))
						b := pbVarint(pbVarint(nil, 1, producerIDOnConn), 2, sendSeq(frame))
						b = protowire.AppendBytes(protowire.AppendTag(b, 3, protowire.BytesType), id)
						out = fakeFrame(wire.TypeSendReceipt, b)
					}
					if out != nil {
						if _, err := nc.Write(out); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return url
}

// TestPublisherLostConnection: a broker that drops the connection with
// receipts owed. Every send's callback fires exactly once, with a
// position or ErrUnavailable; none is left waiting, and later sends
// reconnect.
func TestPublisherLostConnection(t *testing.T) {
	url := fakeBroker(t, 3)
	opts := Options{URL: url, OperationTimeout: 5 * time.Second}
	sec, err := newSecurity(opts)
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{opts: opts, sec: sec}
	p := &publisher{b: b, topic: "persistent://public/default/fake"}
	defer p.close()
	const senders, each = 4, 25
	var (
		mu        sync.Mutex
		calls     = map[int]int{}
		ok, unav  int
		other     []error
		wg        sync.WaitGroup
		fired     = make(chan struct{}, senders*each)
		buildOnce = func(uint64, string) ([]byte, []byte, error) { return []byte("meta"), []byte("payload"), nil }
	)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := s*each + i
				p.send(context.Background(), 1, nil, buildOnce, func(_ pos, err error) {
					mu.Lock()
					calls[id]++
					switch {
					case err == nil:
						ok++
					case errors.Is(err, bridge.ErrUnavailable):
						unav++
					default:
						other = append(other, err)
					}
					mu.Unlock()
					fired <- struct{}{}
				})
			}
		}()
	}
	wg.Wait()
	timeout := time.After(10 * time.Second)
	for range senders * each {
		select {
		case <-fired:
		case <-timeout:
			mu.Lock()
			t.Fatalf("callbacks fired for %d of %d sends", len(calls), senders*each)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for id, n := range calls {
		if n != 1 {
			t.Errorf("send %d: %d callbacks", id, n)
		}
	}
	if len(other) > 0 {
		t.Errorf("errors other than ErrUnavailable: %v", other)
	}
	t.Logf("%d acknowledged, %d unavailable", ok, unav)
	if ok == 0 || unav == 0 {
		t.Errorf("%d acknowledged, %d unavailable: want some of each", ok, unav)
	}
}
