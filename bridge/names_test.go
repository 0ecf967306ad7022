package bridge

import (
	"errors"
	"testing"
)

func TestParseTopicIn(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"orders", "persistent://public/default/orders"},
		{"persistent://t/ns/orders", "persistent://t/ns/orders"},
		{"non-persistent://t/ns/orders", "non-persistent://t/ns/orders"},
		{"t/ns/orders", "persistent://t/ns/orders"},
		{"persistent://t/ns/a/b", "persistent://t/ns/a/b"}, // the local name keeps its slashes
	} {
		got, err := ParseTopicIn(c.in, "public/default")
		if err != nil || got.String() != c.want {
			t.Errorf("ParseTopicIn(%q) = %q, %v; want %q", c.in, got.String(), err, c.want)
		}
	}
	for _, in := range []string{"t/orders", "persistent://t/ns/", "persistent:///ns/x", "t//x", "persistent://t", "a/b/c\x00"} {
		if _, err := ParseTopicIn(in, "public/default"); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTopicIn(%q): %v, want ErrInvalid", in, err)
		}
	}
}
