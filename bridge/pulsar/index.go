package pulsar

import (
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"slices"
	"sync"
)

// sparseIndex remembers, per partition, entries whose index is known (from
// tail readers, consumers and admin probes), so most index → position
// questions need no broker round trip. It is bounded per partition: when
// full it keeps every other entry, which stays a useful sparse index for
// bounding searches.
type sparseIndex struct {
	mu    sync.Mutex
	parts map[string]*partIndex
	limit int
}

type partIndex struct {
	entries []entryInfo // sorted by last index
	byPos   map[pos]int64
}

func newSparseIndex(limit int) *sparseIndex {
	return &sparseIndex{parts: map[string]*partIndex{}, limit: limit}
}

func (s *sparseIndex) learn(partition string, e entryInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[partition]
	if p == nil {
		p = &partIndex{byPos: map[pos]int64{}}
		s.parts[partition] = p
	}
	if _, ok := p.byPos[e.pos]; ok {
		return
	}
	i, found := slices.BinarySearchFunc(p.entries, e.last, func(x entryInfo, v int64) int {
		switch {
		case x.last < v:
			return -1
		case x.last > v:
			return 1
		}
		return 0
	})
	if found { // a re-created topic reuses indexes: the newer entry wins
		delete(p.byPos, p.entries[i].pos)
		p.entries[i] = e
	} else {
		p.entries = slices.Insert(p.entries, i, e)
	}
	p.byPos[e.pos] = e.last
	if len(p.entries) > s.limit {
		kept := p.entries[:0]
		for j, x := range p.entries {
			if j%2 == 0 || j == len(p.entries)-1 {
				kept = append(kept, x)
			} else {
				delete(p.byPos, x.pos)
			}
		}
		p.entries = kept
	}
}

// lookupIndex returns the known entry holding message index i.
func (s *sparseIndex) lookupIndex(partition string, i int64) (entryInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[partition]
	if p == nil {
		return entryInfo{}, false
	}
	j, _ := slices.BinarySearchFunc(p.entries, i, func(x entryInfo, v int64) int {
		if x.last < v {
			return -1
		}
		if x.first() > v {
			return 1
		}
		return 0
	})
	if j < len(p.entries) && p.entries[j].first() <= i && i <= p.entries[j].last {
		return p.entries[j], true
	}
	return entryInfo{}, false
}

func (s *sparseIndex) lookupPos(partition string, ps pos) (entryInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[partition]
	if p == nil {
		return entryInfo{}, false
	}
	last, ok := p.byPos[ps]
	if !ok {
		return entryInfo{}, false
	}
	j, found := slices.BinarySearchFunc(p.entries, last, func(x entryInfo, v int64) int {
		switch {
		case x.last < v:
			return -1
		case x.last > v:
			return 1
		}
		return 0
	})
	if !found || p.entries[j].pos != ps {
		return entryInfo{}, false
	}
	return p.entries[j], true
}

// forget drops a partition (its topic was deleted; a new one restarts at 0).
func (s *sparseIndex) forget(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.parts {
		if k == prefix || len(k) > len(prefix) && k[:len(prefix)] == prefix && k[len(prefix)] == '-' {
			delete(s.parts, k)
		}
	}
}

// learnMsg records the entry of a message a consumer or reader received.
func (s *sparseIndex) learnMsg(partition string, m interface {
	Index() *uint64
}) {
	if pm, ok := m.(pulsarMessage); ok {
		if e, ok := entryOf(pm); ok {
			s.learn(partition, e)
		}
	}
}

type pulsarMessage = pulsar.Message

const time1s = time.Second
