package mqtt

import (
	"testing"
	"time"
)

// A wildcard subscription drops what was published before it, but never a
// message of its own millisecond when the backend only keeps milliseconds.
func TestPublishedBefore(t *testing.T) {
	sub := time.Unix(100, 5_500_000) // 100 s + 5.5 ms
	cases := []struct {
		name string
		pub  time.Time
		want bool
	}{
		{"nanoseconds, earlier in the same ms", time.Unix(100, 5_400_000), true},
		{"nanoseconds, later", time.Unix(100, 5_600_000), false},
		{"whole ms, the subscription's own ms", time.Unix(100, 5_000_000), false},
		{"whole ms, the ms before", time.Unix(100, 4_000_000), true},
	}
	for _, c := range cases {
		if got := publishedBefore(c.pub, sub.UnixNano()); got != c.want {
			t.Errorf("%s: publishedBefore = %v, want %v", c.name, got, c.want)
		}
	}
}
