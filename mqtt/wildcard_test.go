package mqtt

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
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
	pub.pub(t, k.topic("w/new/t/x"), 1, false, "deeper") // not w/+/t's
	pub.pub(t, k.topic("v/new/t"), 1, false, "elsewhere")

	got := payloads(expect(t, plus.got, 2))
	sort.Strings(got)
	if !slices.Equal(got, []string{"new", "old"}) {
		t.Errorf("w/+/t got %v", got)
	}
	got = payloads(expect(t, hash.got, 4))
	sort.Strings(got)
	if !slices.Equal(got, []string{"deeper", "new", "old", "other"}) {
		t.Errorf("w/# got %v", got)
	}
	time.Sleep(time.Second) // what should not come would have by now
	expectNone(t, plus.got, 0)
	expectNone(t, hash.got, 0)
}

// A filter that starts with a wildcard does not match a topic name that
// starts with '$' [MQTT-4.7.2-1], shared or not; a filter that names the
// '$' level does.
func TestDollarTopics(t *testing.T) { eachBackend(t, testDollarTopics) }

func testDollarTopics(t *testing.T, k *kit) {
	// '#' and '+/...' cover the whole namespace: on a shared broker, one
	// of this test's own.
	ns := bridge.DefaultNamespace
	if k.kind == "pulsar" {
		ns = "public/mqtt-dollar-test"
		pulsartest.CreateNamespace(t, "PULSAR_", ns)
	}
	g := k.start(t, func(o *Options) { o.Namespace = ns })
	p := "dl"
	if k.prefix != "" {
		p = k.prefix
	}
	dollar, plain := "$TopicA/"+p+"/t", "a/"+p+"/t"
	pub := connect5(t, g, k.id("dpub"), true, 0)
	pub.pub(t, dollar, 1, "create") // both topics exist before the subscriptions
	pub.pub(t, plain, 1, "create")

	filters := []string{"+/" + p + "/t", "#", "$share/" + p + "/+/" + p + "/t", "$share/" + p + "h/#"}
	subs := make([]*client5, len(filters))
	for i, f := range filters {
		subs[i] = connect5(t, g, k.id(fmt.Sprintf("dsub%d", i)), true, 0)
		subs[i].sub(t, f, 1)
	}
	explicit := connect3(t, g, k.id("dexplicit"), true)
	explicit.sub(t, "$TopicA/#", 1)

	pub.pub(t, dollar, 1, "dollar")
	pub.pub(t, plain, 1, "plain")
	if m := expect(t, explicit.got, 1)[0]; m.topic != dollar || m.payload != "dollar" {
		t.Errorf("$TopicA/# got %+v", m)
	}
	// Retained messages (of every namespace: on a shared broker, other
	// tests') are not what this is about.
	live := func(ms []msg) []msg {
		return slices.DeleteFunc(ms, func(m msg) bool { return m.retain })
	}
	for i, c := range subs {
		var got []msg
		for len(got) == 0 {
			got = live(expect(t, c.got, 1))
		}
		if m := got[0]; m.topic != plain || m.payload != "plain" {
			t.Errorf("%s got %+v, want %s", filters[i], m, plain)
		}
	}
	// The plain message came: a '$' one would have come by now too.
	time.Sleep(time.Second)
	for i, c := range subs {
		for len(c.got) > 0 {
			if m := live([]msg{<-c.got}); len(m) > 0 {
				t.Errorf("%s got %+v", filters[i], m[0])
			}
		}
	}
}
