package amqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Single active consumer (x-single-active-consumer). RabbitMQ makes the first consumer
// registered active and, when it goes, the next in registration order. Pulsar's Failover
// type picks the active consumer of a non-partitioned topic by hashing consumer names
// (measured on 4.0.7: of m, z, a subscribed in that order, z was active), so the order is
// kept here: every consumer of a SAC queue registers in a state table every gateway
// follows, and only the first registration holds a consumer on the queue's subscription,
// of the Failover type (Pulsar does not mix types on one subscription). The others wait,
// attached to nothing, so Pulsar has one consumer to pick.
//
//	"r/" + vhost NUL queue NUL time NUL token  a registration (value: the server's token,
//	                                           "<gateway presence id>.<random>")
//
// The key orders registrations: its time is the registering gateway's clock (nanoseconds),
// so registrations on two gateways within their clock skew may be ordered either way.
// A consumer releases its registration after closing its bridge consumer, so what it held
// unacked is back in the subscription before the next one attaches. A gateway that dies
// leaves registrations behind: a gateway waiting behind one asks the store, every
// sacCheck, whether the registering gateway is still present (bridge.Presence), and
// removes the registration when it is not. On the embedded store that is every gateway
// of an earlier run, whose registrations go at start.
const sacTableName = "amqp-sac"

const sacCheck = 250 * time.Millisecond

type sacLine struct {
	s    *Server
	t    bridge.StateTable
	proc string // "<gateway presence id>.<random>"
	stop func()
	quit chan struct{}
	once sync.Once

	mu      sync.Mutex
	waiters map[string]chan struct{} // local registrations not yet first, by key; closed when first
	mine    int                      // local registrations
	last    int64                    // last registration time used, to keep local keys ordered
}

func openSAC(ctx context.Context, s *Server) (*sacLine, error) {
	t, err := s.opts.Backend.State(ctx, sacTableName)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	rand.Read(b[:])
	l := &sacLine{s: s, t: t, proc: s.gw + "." + hex.EncodeToString(b[:]), quit: make(chan struct{}),
		waiters: map[string]chan struct{}{}}
	if !s.opts.Backend.Shared() {
		// One machine's store: registrations of other gateways are from an earlier run,
		// and would hold up new consumers until reaped.
		var stale []string
		t.Range("r/", func(k string, v []byte) bool {
			if l.dead(ctx, string(v)) {
				stale = append(stale, k)
			}
			return true
		})
		for _, k := range stale {
			if err := t.Delete(ctx, k); err != nil {
				return nil, err
			}
		}
	}
	l.stop = t.Watch(l.changed)
	go l.reap()
	return l, nil
}

func (l *sacLine) close() {
	l.once.Do(func() {
		l.stop()
		close(l.quit)
	})
}

// sacPrefix is the key prefix of a queue's registrations.
func sacPrefix(vhost, queue string) string { return "r/" + vhost + "\x00" + queue + "\x00" }

// register queues a consumer of vhost/queue; first is closed once it is the first
// registration (at once when no one is before it).
func (l *sacLine) register(ctx context.Context, vhost, queue string) (key string, first <-chan struct{}, err error) {
	l.mu.Lock()
	now := max(time.Now().UnixNano(), l.last+1)
	l.last = now
	key = fmt.Sprintf("%s%020d\x00%s/%s", sacPrefix(vhost, queue), now, l.proc, randomID())
	ch := make(chan struct{})
	l.waiters[key] = ch
	l.mine++
	l.mu.Unlock()
	if err := l.t.Put(ctx, key, []byte(l.proc)); err != nil {
		l.forget(key)
		return "", nil, err
	}
	l.promote(sacPrefix(vhost, queue))
	return key, ch, nil
}

// unregister removes a registration; the next one of its queue becomes first.
func (l *sacLine) unregister(key string) {
	l.forget(key)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.t.Delete(ctx, key); err != nil {
		l.s.log.Warn("single active consumer: cannot release a registration", zap.String("key", key), zap.Error(err))
	}
}

func (l *sacLine) forget(key string) {
	l.mu.Lock()
	if _, ok := l.waiters[key]; ok {
		delete(l.waiters, key)
	}
	l.mine--
	l.mu.Unlock()
}

// registered counts a queue's registrations on every gateway (consumer_count).
func (l *sacLine) registered(vhost, queue string) int {
	n := 0
	l.t.Range(sacPrefix(vhost, queue), func(string, []byte) bool { n++; return true })
	return n
}

// firstKey is the queue's first registration, "" when none.
func (l *sacLine) firstKey(prefix string) (key, proc string) {
	l.t.Range(prefix, func(k string, v []byte) bool { key, proc = k, string(v); return false })
	return key, proc
}

// promote wakes the local waiter whose registration is now first.
func (l *sacLine) promote(prefix string) {
	k, _ := l.firstKey(prefix)
	l.mu.Lock()
	if ch, ok := l.waiters[k]; ok {
		close(ch)
		delete(l.waiters, k)
	}
	l.mu.Unlock()
}

func (l *sacLine) changed(k string, v []byte) {
	if !strings.HasPrefix(k, "r/") {
		return
	}
	if i := strings.LastIndexByte(k, 0); i > 0 {
		l.promote(k[:strings.LastIndexByte(k[:i], 0)+1])
	}
}

// reap removes a first registration that blocks a local waiter when its gateway is gone.
func (l *sacLine) reap() {
	tick := time.NewTicker(sacCheck)
	defer tick.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-tick.C:
		}
		l.mu.Lock()
		prefixes := map[string]bool{}
		for k := range l.waiters {
			prefixes[k[:strings.LastIndexByte(k[:strings.LastIndexByte(k, 0)], 0)+1]] = true
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for p := range prefixes {
			k, proc := l.firstKey(p)
			if k == "" || proc == l.proc || !l.dead(ctx, proc) {
				continue
			}
			l.s.log.Info("single active consumer: removing the registration of a gateway that stopped", zap.String("gateway", proc))
			if err := l.t.Delete(ctx, k); err != nil {
				l.s.log.Warn("single active consumer: cannot remove a registration", zap.Error(err))
			}
		}
		cancel()
	}
}

// dead: proc's gateway is no longer present in the store. This gateway's other servers
// (tests run several on one backend) are alive while it is.
func (l *sacLine) dead(ctx context.Context, proc string) bool {
	gw, _, _ := strings.Cut(proc, ".")
	return l.s.gatewayGone(ctx, gw)
}
