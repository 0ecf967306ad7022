package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// presence on an embedded store: one process opens it (Pebble locks the
// directory), so the only process present is this one, while it is open.
type presence struct {
	b  *Backend
	mu sync.Mutex
	id string
}

func (b *Backend) Presence() bridge.Presence { return &b.presence }

func (p *presence) Join(ctx context.Context) (string, error) {
	if p.b.isClosed() {
		return "", bridge.ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == "" {
		var r [8]byte
		rand.Read(r[:])
		p.id = hex.EncodeToString(r[:])
	}
	return p.id, nil
}

func (p *presence) Alive(ctx context.Context, id string) (bool, error) {
	if p.b.isClosed() {
		return false, bridge.ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return id != "" && id == p.id, nil
}
