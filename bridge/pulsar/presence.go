package pulsar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// presence is a producer, in exclusive access mode, on a topic named after
// this process's id. The broker drops a producer when its connection ends:
// at once when the process dies (the kernel closes its sockets, even on
// SIGKILL), after the keep-alive when its host is lost. Alive asks the
// broker whether that topic still has a publisher; the broker's
// inactive-topic removal later deletes the topic of a process gone.
type presence struct {
	b *Backend

	mu sync.Mutex
	id string
	p  pulsar.Producer
}

const presencePrefix = "__pgw-presence-"

func (b *Backend) Presence() bridge.Presence { return &b.presence }

func (p *presence) topic(id string) string {
	return "persistent://" + p.b.opts.Tenant + "/" + p.b.opts.Namespace + "/" + presencePrefix + id
}

func (p *presence) Join(ctx context.Context) (string, error) {
	if p.b.isClosed() {
		return "", bridge.ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id != "" {
		return p.id, nil
	}
	var r [8]byte
	rand.Read(r[:])
	id := hex.EncodeToString(r[:])
	// Made here, not auto-created: the broker may auto-create topics
	// partitioned, and Alive reads a non-partitioned topic's stats.
	if err := p.b.adm.CreateTopic(ctx, p.topic(id), 0); err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		return "", err
	}
	prod, err := p.b.client.CreateProducer(pulsar.ProducerOptions{
		Topic:              p.topic(id),
		ProducerAccessMode: pulsar.ProducerAccessModeExclusive,
	})
	if err != nil {
		return "", mapErr(err, topicScope, "join as "+id)
	}
	p.id, p.p = id, prod
	return id, nil
}

func (p *presence) Alive(ctx context.Context, id string) (bool, error) {
	if p.b.isClosed() {
		return false, bridge.ErrClosed
	}
	if id == "" || strings.ContainsAny(id, "/?#%") {
		return false, nil
	}
	tn, err := bridge.ParseTopic(p.topic(id))
	if err != nil {
		return false, nil
	}
	var st struct {
		Publishers []struct{} `json:"publishers"`
	}
	_, err = p.b.adminGet(ctx, restPath(tn)+"/stats", &st)
	if err = mapErr(err, topicScope, "presence of "+id); errors.Is(err, bridge.ErrTopicNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return len(st.Publishers) > 0, nil
}

// close ends this process's presence (Backend.Close) and deletes its
// topic, so that gateways that come and go leave none behind where the
// broker's inactive-topic removal is off. A process that dies leaves it to
// that removal.
func (p *presence) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.p == nil {
		return
	}
	p.p.Close()
	p.p = nil
	ut, err := utils.GetTopicName(p.topic(p.id))
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The backend is closing: its admin API refuses, its client does not.
	if err := p.b.admin.Topics().DeleteWithContext(ctx, *ut, true, true); err != nil {
		p.b.log.Debug("deleting this process's presence topic", zap.Error(err))
	}
}
