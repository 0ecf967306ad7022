package kafka

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Incremental fetch sessions (KIP-227). A client that fetches many
// partitions sends them once; later Fetches name only what changed, and
// answers leave out partitions with nothing new. Sessions live on their
// connection (clients fetch from a broker over one connection) and a
// connection keeps at most maxFetchSessions.
const maxFetchSessions = 8

// Epochs with a meaning of their own.
const (
	epochInitial = 0  // a full Fetch that opens a session
	epochFinal   = -1 // a full Fetch without a session (closes one named)
)

// sessionIDs are unique per gateway process: a session ID from another
// connection is not found, as on a broker that lost the session.
var sessionIDs atomic.Int32

type partKey struct {
	topic     string
	partition int32
}

// sessionPartition is what the session remembers of one partition: the
// request's position and limits, and what the last answer said.
type sessionPartition struct {
	fetchOffset int64
	maxBytes    int32
	sent        bool // answered at least once
	hw, lso     int64
	logStart    int64
}

type fetchSession struct {
	mu    sync.Mutex // held by the Fetch using the session
	id    int32
	epoch int32 // the epoch the next request must carry
	order []partKey
	parts map[partKey]*sessionPartition
}

// sessionCache is a connection's sessions.
type sessionCache struct {
	mu  sync.Mutex
	m   map[int32]*fetchSession
	ids []int32 // oldest first, for eviction
}

// wantedPartition is one partition a Fetch reads, from the request or from
// its session.
type wantedPartition struct {
	key   partKey
	state *sessionPartition // nil without a session
}

// begin resolves a Fetch's session: the session to use (nil: none; then
// the request is a full one), locked, or a top-level error code.
func (sc *sessionCache) begin(req *kmsg.FetchRequest) (*fetchSession, int16) {
	if req.Version < 7 {
		return nil, 0
	}
	switch req.SessionEpoch {
	case epochFinal:
		sc.remove(req.SessionID)
		return nil, 0
	case epochInitial:
		sc.remove(req.SessionID)
		s := &fetchSession{id: newSessionID(), epoch: 1, parts: map[partKey]*sessionPartition{}}
		s.mu.Lock()
		sc.add(s)
		return s, 0
	}
	sc.mu.Lock()
	s := sc.m[req.SessionID]
	sc.mu.Unlock()
	if s == nil {
		return nil, kerr.FetchSessionIDNotFound.Code
	}
	s.mu.Lock()
	if req.SessionEpoch != s.epoch {
		s.mu.Unlock()
		return nil, kerr.InvalidFetchSessionEpoch.Code
	}
	s.epoch++
	if s.epoch <= 0 { // wrap: the next is 1, never 0 or -1
		s.epoch = 1
	}
	return s, 0
}

func newSessionID() int32 {
	for {
		if id := sessionIDs.Add(1); id > 0 {
			return id
		}
		sessionIDs.Store(0)
	}
}

func (sc *sessionCache) add(s *fetchSession) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.m == nil {
		sc.m = map[int32]*fetchSession{}
	}
	if len(sc.ids) >= maxFetchSessions {
		delete(sc.m, sc.ids[0])
		sc.ids = sc.ids[1:]
	}
	sc.m[s.id] = s
	sc.ids = append(sc.ids, s.id)
}

func (sc *sessionCache) remove(id int32) {
	if id == 0 {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	delete(sc.m, id)
	for i, x := range sc.ids {
		if x == id {
			sc.ids = append(sc.ids[:i], sc.ids[i+1:]...)
			break
		}
	}
}

// apply folds a request into the session (new or changed partitions, then
// forgotten ones) and lists what the Fetch reads: every partition of the
// session, in the order they joined it.
func (s *fetchSession) apply(req *kmsg.FetchRequest) []wantedPartition {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			k := partKey{t.Topic, p.Partition}
			sp := s.parts[k]
			if sp == nil {
				sp = &sessionPartition{}
				s.parts[k] = sp
				s.order = append(s.order, k)
			}
			sp.fetchOffset, sp.maxBytes = p.FetchOffset, p.PartitionMaxBytes
		}
	}
	for _, t := range req.ForgottenTopics {
		for _, p := range t.Partitions {
			delete(s.parts, partKey{t.Topic, p})
		}
	}
	out := make([]wantedPartition, 0, len(s.parts))
	kept := s.order[:0]
	for _, k := range s.order {
		if sp := s.parts[k]; sp != nil {
			kept = append(kept, k)
			out = append(out, wantedPartition{key: k, state: sp})
		}
	}
	s.order = kept
	return out
}

// include reports whether an incremental answer carries a partition, and
// records what it said: records, an error, or a changed high watermark,
// last stable or log start offset (KIP-227's rule).
func (sp *sessionPartition) include(rp *kmsg.FetchResponseTopicPartition) bool {
	changed := !sp.sent || len(rp.RecordBatches) > 0 || rp.ErrorCode != 0 ||
		rp.HighWatermark != sp.hw || rp.LastStableOffset != sp.lso || rp.LogStartOffset != sp.logStart
	sp.sent = true
	sp.hw, sp.lso, sp.logStart = rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset
	return changed
}
