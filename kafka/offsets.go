package kafka

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// offsetTable is the bridge state table of committed offsets, shared by
// every gateway on the backend.
const offsetTable = "kafka-offsets"

// offsetStore keeps committed offsets under group \x00 topic \x00 partition,
// so one group's offsets are one prefix.
type offsetStore struct{ t bridge.StateTable }

type committed struct {
	offset      int64
	leaderEpoch int32
	metadata    string
}

func newOffsetStore(ctx context.Context, b bridge.Backend) (*offsetStore, error) {
	t, err := b.State(ctx, offsetTable)
	if err != nil {
		return nil, err
	}
	return &offsetStore{t: t}, nil
}

func offsetKey(group, topic string, partition int32) string {
	return group + "\x00" + topic + "\x00" + strconv.Itoa(int(partition))
}

func (s *offsetStore) commit(ctx context.Context, group, topic string, partition int32, c committed) error {
	v := make([]byte, 12, 12+len(c.metadata))
	binary.BigEndian.PutUint64(v, uint64(c.offset))
	binary.BigEndian.PutUint32(v[8:], uint32(c.leaderEpoch))
	v = append(v, c.metadata...)
	return s.t.Put(ctx, offsetKey(group, topic, partition), v)
}

// offsetCommitItem is one partition of an OffsetCommit; commitAll sets err.
type offsetCommitItem struct {
	topic     string
	partition int32
	c         committed
	at        [2]int // topic and partition index in the response
	err       error
}

// commitParallel bounds the commits of one request in flight at once: the
// backends group concurrent state writes (one synced batch, one Pulsar
// batch), so a request of many partitions costs a few round trips.
const commitParallel = 256

// commitAll commits items concurrently and sets each one's err. A
// partition named twice in one request is committed once, with its last
// offset (as a sequential commit would leave it).
func (s *offsetStore) commitAll(ctx context.Context, group string, items []offsetCommitItem) {
	if len(items) == 1 {
		items[0].err = s.commit(ctx, group, items[0].topic, items[0].partition, items[0].c)
		return
	}
	last := make(map[string]int, len(items))
	for i, it := range items {
		last[offsetKey(group, it.topic, it.partition)] = i
	}
	sem := make(chan struct{}, commitParallel)
	var wg sync.WaitGroup
	for i := range items {
		it := &items[i]
		if last[offsetKey(group, it.topic, it.partition)] != i {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			it.err = s.commit(ctx, group, it.topic, it.partition, it.c)
		}()
	}
	wg.Wait()
	for i := range items {
		items[i].err = items[last[offsetKey(group, items[i].topic, items[i].partition)]].err
	}
}

func decodeCommitted(v []byte) (committed, bool) {
	if len(v) < 12 {
		return committed{}, false
	}
	return committed{
		offset:      int64(binary.BigEndian.Uint64(v)),
		leaderEpoch: int32(binary.BigEndian.Uint32(v[8:])),
		metadata:    string(v[12:]),
	}, true
}

func (s *offsetStore) get(group, topic string, partition int32) (committed, bool) {
	v, ok := s.t.Get(offsetKey(group, topic, partition))
	if !ok {
		return committed{}, false
	}
	return decodeCommitted(v)
}

// all calls f for each committed offset of a group.
func (s *offsetStore) all(group string, f func(topic string, partition int32, c committed)) {
	s.t.Range(group+"\x00", func(key string, v []byte) bool {
		parts := strings.Split(key, "\x00")
		if len(parts) != 3 {
			return true
		}
		p, err := strconv.Atoi(parts[2])
		c, ok := decodeCommitted(v)
		if err == nil && ok {
			f(parts[1], int32(p), c)
		}
		return true
	})
}

// groups lists the groups that have committed offsets.
func (s *offsetStore) groups() []string {
	var out []string
	last := ""
	s.t.Range("", func(key string, _ []byte) bool {
		g, _, _ := strings.Cut(key, "\x00")
		if g != last {
			out = append(out, g)
			last = g
		}
		return true
	})
	return out
}

// any says whether some group has committed offsets.
func (s *offsetStore) any() bool {
	found := false
	s.t.Range("", func(string, []byte) bool {
		found = true
		return false
	})
	return found
}
