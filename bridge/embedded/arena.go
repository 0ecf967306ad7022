package embedded

import "time"

// arena holds the encodings of the messages a commit gathers, in chunks: a
// commit of many large messages appends without copying what it holds, as
// one growing buffer would, and chunks of earlier commits are reused.
// The committer's mu guards it.
type arena struct {
	cur  []byte   // chunk being filled
	used [][]byte // chunks filled since the last take, cur included
	free [][]byte // empty chunks to reuse
}

const (
	arenaChunk    = 1 << 20
	arenaMaxFree  = 16 // chunks kept for reuse, so a burst does not pin its memory
	arenaMaxReuse = 4 * arenaChunk
)

// encode appends m's encoding and returns it; the result stays valid until
// its chunk is given back.
func (a *arena) encode(m *storedMessage) []byte {
	if need := messageSizeBound(m); cap(a.cur)-len(a.cur) < need {
		a.grab(need)
	}
	start := len(a.cur)
	a.cur = appendMessage(a.cur, m)
	return a.cur[start:len(a.cur):len(a.cur)]
}

// encodeRaw appends a raw group's encoding and returns it, as encode does.
func (a *arena) encodeRaw(publish time.Time, count int, batch []byte) []byte {
	if need := rawGroupBound(batch); cap(a.cur)-len(a.cur) < need {
		a.grab(need)
	}
	start := len(a.cur)
	a.cur = appendRawGroup(a.cur, publish, count, batch)
	return a.cur[start:len(a.cur):len(a.cur)]
}

func (a *arena) grab(need int) {
	if n := len(a.free); n > 0 && need <= arenaChunk {
		a.cur, a.free = a.free[n-1], a.free[:n-1]
	} else {
		a.cur = make([]byte, 0, max(need, arenaChunk))
	}
	a.used = append(a.used, a.cur)
}

// take hands over the chunks filled so far; later messages go to others.
func (a *arena) take() [][]byte {
	used := a.used
	a.cur, a.used = nil, nil
	return used
}

// giveBack returns chunks whose messages are committed.
func (a *arena) giveBack(chunks [][]byte) {
	for _, c := range chunks {
		if len(a.free) < arenaMaxFree && cap(c) <= arenaMaxReuse {
			a.free = append(a.free, c[:0])
		}
	}
}
