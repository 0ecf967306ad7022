package bridgetest

import "testing"

func presenceTests() []testCase {
	return []testCase{
		{"JoinAlive", testPresenceJoinAlive},
		{"OtherProcess", testPresenceOtherProcess},
	}
}

// testPresenceJoinAlive: one id per process, alive while open; an id never
// joined is not alive.
func testPresenceJoinAlive(t *testing.T, h Harness) {
	b := h.New(t)
	p := b.Presence()
	if ok, err := p.Alive(waitCtx(t, h), "0123456789abcdef"); err != nil || ok {
		t.Fatalf("Alive(an id never joined) = %v, %v; want false", ok, err)
	}
	id, err := p.Join(waitCtx(t, h))
	if err != nil || id == "" {
		t.Fatalf("Join = %q, %v", id, err)
	}
	again, err := p.Join(waitCtx(t, h))
	if err != nil || again != id {
		t.Fatalf("second Join = %q, %v; want %q", again, err, id)
	}
	if ok, err := p.Alive(waitCtx(t, h), id); err != nil || !ok {
		t.Fatalf("Alive(own id) = %v, %v; want true", ok, err)
	}
	if ok, _ := p.Alive(waitCtx(t, h), "../"+id); ok {
		t.Fatal("Alive of a malformed id = true")
	}
}

// testPresenceOtherProcess: on a shared store, another backend's presence
// is seen while it is open and gone once it is closed (as when its process
// ends); on a store only one process opens, no other id is alive.
func testPresenceOtherProcess(t *testing.T, h Harness) {
	b1, b2 := h.New(t), h.New(t)
	id2, err := b2.Presence().Join(waitCtx(t, h))
	if err != nil {
		t.Fatal(err)
	}
	ok, err := b1.Presence().Alive(waitCtx(t, h), id2)
	if err != nil {
		t.Fatal(err)
	}
	if !b1.Shared() {
		if ok {
			t.Fatal("another store's id is alive here")
		}
		return
	}
	if !ok {
		t.Fatal("a joined process on the same broker is not alive")
	}
	b2.Close()
	eventually(t, h, func() string {
		if ok, err := b1.Presence().Alive(waitCtx(t, h), id2); err != nil || ok {
			return "a closed backend's presence is still alive"
		}
		return ""
	})
	if _, err := b2.Presence().Join(waitCtx(t, h)); err == nil {
		t.Fatal("Join on a closed backend succeeded")
	}
}
