package mqtt

import (
	"slices"
	"sort"
	"testing"
	"time"
)

// A wildcard subscription gets messages of matching topics, including one
// created after it subscribed, and not of others.
func TestWildcards(t *testing.T) { eachBackend(t, testWildcards) }

func testWildcards(t *testing.T, k *kit) {
	g := k.start(t)
	pub := connect3(t, g, k.id("pub"), true)
	pub.pub(t, k.topic("w/old/t"), 1, false, "before") // the topic exists before the subscription

	plus := connect3(t, g, k.id("plus"), true)
	plus.sub(t, k.topic("w/+/t"), 1)
	hash := connect5(t, g, k.id("hash"), true, 0)
	hash.sub(t, k.topic("w/#"), 1)

	pub.pub(t, k.topic("w/old/t"), 1, false, "old")
	pub.pub(t, k.topic("w/new/t"), 1, false, "new") // created after subscribing
	pub.pub(t, k.topic("w/new/x"), 1, false, "other")
	pub.pub(t, k.topic("v/new/t"), 1, false, "elsewhere")

	got := payloads(expect(t, plus.got, 2))
	sort.Strings(got)
	if !slices.Equal(got, []string{"new", "old"}) {
		t.Errorf("w/+/t got %v", got)
	}
	got = payloads(expect(t, hash.got, 3))
	sort.Strings(got)
	if !slices.Equal(got, []string{"new", "old", "other"}) {
		t.Errorf("w/# got %v", got)
	}
	expectNone(t, plus.got, 300*time.Millisecond)
	expectNone(t, hash.got, 0)
}
