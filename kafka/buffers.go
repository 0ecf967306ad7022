package kafka

import "sync"

// Response buffers are reused: a Fetch answer is about a megabyte of
// records, built once into record batches and again into the framed
// response, and a fresh allocation for each (grown by append, at that)
// was a fifth of the bytes a Pulsar-backed consumer made the gateway
// allocate. Buffers bigger than maxPooledBuffer are left to the GC, so
// one huge Fetch does not pin its memory.
const maxPooledBuffer = 8 << 20

var buffers sync.Pool // of *[]byte

// getBuffer returns an empty buffer with room for at least n bytes.
func getBuffer(n int) []byte {
	if p, ok := buffers.Get().(*[]byte); ok {
		if cap(*p) >= n {
			return (*p)[:0]
		}
		buffers.Put(p)
	}
	return make([]byte, 0, n)
}

// putBuffer gives b back; nothing may use it afterwards.
func putBuffer(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledBuffer {
		return
	}
	b = b[:0]
	buffers.Put(&b)
}
