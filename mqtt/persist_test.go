package mqtt

import (
	"slices"
	"testing"
	"time"
)

// Retained messages survive a gateway restart, reach new subscribers
// through wildcards, and an empty retained payload deletes them.
func TestRetainedAfterRestart(t *testing.T) { eachBackend(t, testRetainedAfterRestart) }

func testRetainedAfterRestart(t *testing.T, k *kit) {
	g := k.start(t)
	pub := connect3(t, g, k.id("pub"), true)
	pub.pub(t, k.topic("r/a"), 1, true, "A")
	pub.pub(t, k.topic("r/b"), 1, true, "B")
	pub.pub(t, k.topic("r/c"), 1, true, "C")
	pub.pub(t, k.topic("r/c"), 1, true, "") // deletes r/c's
	pub.Disconnect(0)
	g.stop()

	g = k.start(t)
	sub := connect5(t, g, k.id("sub"), true, 0)
	sub.sub(t, k.topic("r/+"), 1)
	got := expect(t, sub.got, 2)
	slices.SortFunc(got, func(a, b msg) int { return int(a.payload[0]) - int(b.payload[0]) })
	if got[0].payload != "A" || got[1].payload != "B" || !got[0].retain || got[0].topic != k.topic("r/a") {
		t.Fatalf("got %+v", got)
	}
	expectNone(t, sub.got, 200*time.Millisecond)
}

// A persistent session gets what was published while it was away, across
// a gateway restart, in order; a clean session does not.
func TestOfflineDeliveryAfterRestart(t *testing.T) { eachBackend(t, testOfflineDeliveryAfterRestart) }

func testOfflineDeliveryAfterRestart(t *testing.T, k *kit) {
	g := k.start(t)
	dev := connect3(t, g, k.id("device"), false)
	dev.sub(t, k.topic("cmd/device"), 1)
	dev5 := connect5(t, g, k.id("device5"), false, 3600)
	dev5.sub(t, k.topic("cmd/+"), 2)
	clean := connect3(t, g, k.id("clean"), true)
	clean.sub(t, k.topic("cmd/device"), 1)
	dev.Disconnect(0)
	dev5.Disconnect(nil)
	clean.Disconnect(0)

	pub := connect3(t, g, k.id("pub"), true)
	want := seq("c", 20)
	for _, p := range want {
		pub.pub(t, k.topic("cmd/device"), 1, false, p)
	}
	pub.Disconnect(0)
	g.stop()

	g = k.start(t)
	dev = connect3(t, g, k.id("device"), false)
	if got := payloads(expect(t, dev.got, len(want))); !slices.Equal(got, want) {
		t.Fatalf("3.1.1 session got %v, want %v", got, want)
	}
	dev5 = connect5(t, g, k.id("device5"), false, 3600)
	if got := payloads(expect(t, dev5.got, len(want))); !slices.Equal(got, want) {
		t.Fatalf("5 session got %v, want %v", got, want)
	}
	clean = connect3(t, g, k.id("clean"), true)
	expectNone(t, clean.got, 300*time.Millisecond)

	// Acknowledged means gone, also to the next gateway, which has only
	// the stored acks: a reconnect after a restart gets nothing again.
	dev.Disconnect(500) // its last PUBACKs go out first
	dev5.Disconnect(nil)
	g.stop()
	g = k.start(t)
	dev = connect3(t, g, k.id("device"), false)
	dev5 = connect5(t, g, k.id("device5"), false, 3600)
	time.Sleep(time.Second)
	expectNone(t, dev.got, 0)
	expectNone(t, dev5.got, 0)
}

// Idle producers are closed, and a later publish opens a new one.
func TestProducerEviction(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.SessionSweep, o.ProducerIdle = 50*time.Millisecond, 50*time.Millisecond })
	sub := connect3(t, g, "sub", true)
	sub.sub(t, "ev/x", 1)
	pub := connect3(t, g, "pub", true)
	pub.pub(t, "ev/x", 1, false, "1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if g.srv.producers.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle producer is still open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	pub.pub(t, "ev/x", 1, false, "2")
	if got := payloads(expect(t, sub.got, 2)); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("got %v", got)
	}
}
