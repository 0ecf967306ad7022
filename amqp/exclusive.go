package amqp

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Exclusive queues across gateways. A queue's owner is its connection named
// with the gateway's presence id (bridge.Presence) and this server's own
// random name (two servers may share one backend in a process):
// "<gateway>/<server>/<conn id>".
// Another connection, on any gateway, gets 405 RESOURCE_LOCKED while the
// owner lives. When the owner's connection closes, its gateway deletes the
// queue (dropExclusive); when its gateway dies, the store says so (the
// presence is gone) and any gateway deletes the queue: the next one to touch
// it at once, and every gateway's sweep within exclusiveSweep.
const exclusiveSweep = 2 * time.Second

// owner is this connection's name as an exclusive queue's owner.
func (c *conn) owner() string { return c.s.gw + "/" + c.s.name + "/" + c.id }

// ownerGone reports whether an exclusive queue's owner has gone with its
// gateway. Owners on this gateway are its open connections (a closing one
// deletes its queues itself).
func (s *Server) ownerGone(ctx context.Context, owner string) bool {
	gw, _, ok := strings.Cut(owner, "/")
	if !ok {
		return true // an owner named before gateways had ids: its process is gone
	}
	return s.gatewayGone(ctx, gw)
}

// gatewayGone reports whether the store says the gateway with presence id
// gw is gone. This gateway is not; an unknown answer is not gone, so that
// nothing of a live gateway is taken on a failed question.
func (s *Server) gatewayGone(ctx context.Context, gw string) bool {
	if gw == s.gw {
		return false
	}
	alive, err := s.opts.Backend.Presence().Alive(ctx, gw)
	if err != nil {
		s.log.Debug("asking whether a gateway lives", zap.String("gateway", gw), zap.Error(err))
		return false
	}
	return !alive
}

// dropOrphan deletes an exclusive queue whose owner is gone, as its node
// would have. It reports whether it did.
func (s *Server) dropOrphan(ctx context.Context, vhost, name string, q queueRec) bool {
	if !q.Exclusive || !s.ownerGone(ctx, q.Owner) {
		return false
	}
	ns, ok := s.namespace(vhost)
	if !ok {
		return false
	}
	if err := s.deleteQueue(ctx, vhost, "persistent://"+ns+"/"+name, name); err != nil {
		s.log.Debug("deleting an exclusive queue of a gone connection", zap.String("queue", name), zap.Error(err))
		return false
	}
	s.log.Info("deleted an exclusive queue whose gateway is gone", zap.String("vhost", vhost), zap.String("queue", name), zap.String("owner", q.Owner))
	return true
}

// sweepExclusive deletes, every exclusiveSweep, the exclusive queues of
// gateways that are gone (a gateway restarted is gone too: new id).
func (s *Server) sweepExclusive() {
	t := time.NewTicker(exclusiveSweep)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		type orphan struct {
			vhost, name string
			q           queueRec
		}
		var found []orphan
		s.topo.st.Range("q/", func(k string, v []byte) bool {
			if !strings.Contains(string(v), `"exclusive":true`) {
				return true
			}
			if vhost, name, ok := queueKey(k); ok {
				if q, ok := s.topo.queue(vhost, name); ok && q.Exclusive {
					found = append(found, orphan{vhost, name, q})
				}
			}
			return true
		})
		gone := map[string]bool{} // by owner's gateway: one question each
		ctx, cancel := context.WithTimeout(context.Background(), exclusiveSweep)
		for _, o := range found {
			gw, _, _ := strings.Cut(o.q.Owner, "/")
			g, asked := gone[gw]
			if !asked {
				g = s.ownerGone(ctx, o.q.Owner)
				gone[gw] = g
			}
			if g {
				s.dropOrphan(ctx, o.vhost, o.name, o.q)
			}
		}
		cancel()
	}
}

// Exclusive consumers across gateways. An exclusive basic.consume writes
// "x/<vhost>/<queue>" = its owner and tag to the topology table, after
// checking that no consumer is attached anywhere; a later consume on any
// gateway, exclusive or not, reads it and is refused (403) while the owner's
// gateway lives. The claim goes when the consumer does, or with its gateway.
// Two consumes racing on two gateways within the table's propagation (a few
// ms) may both be let in.

func exclusiveConsumerKey(vhost, queue string) string { return "x/" + esc(vhost) + "/" + esc(queue) }

// exclusiveConsumerElsewhere reports whether another connection, on any
// gateway, holds an exclusive consumer of the queue; a claim of a gone
// gateway is removed on the way.
func (c *conn) exclusiveConsumerElsewhere(ctx context.Context, queue string) bool {
	k := exclusiveConsumerKey(c.vhost, queue)
	v, ok := c.s.topo.st.Get(k)
	if !ok {
		return false
	}
	owner := string(v)
	if strings.HasPrefix(owner, c.owner()+"/") {
		return false // this connection's own: the local check refuses it
	}
	if c.s.ownerGone(ctx, owner) {
		if cur, ok := c.s.topo.st.Get(k); ok && string(cur) == owner {
			c.s.topo.st.Delete(ctx, k)
		}
		return false
	}
	return true
}

// claimExclusiveConsumer records this connection's exclusive consumer tag.
func (c *conn) claimExclusiveConsumer(ctx context.Context, queue, tag string) (key string, err error) {
	key = exclusiveConsumerKey(c.vhost, queue)
	return key, c.s.topo.st.Put(ctx, key, []byte(c.owner()+"/"+tag))
}

// releaseExclusiveConsumer removes the claim if it is still this consumer's.
func (cs *consumer) releaseExclusiveConsumer() {
	if cs.exclKey == "" {
		return
	}
	s := cs.ch.c.s
	want := cs.ch.c.owner() + "/" + cs.tag
	if v, ok := s.topo.st.Get(cs.exclKey); !ok || string(v) != want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.topo.st.Delete(ctx, cs.exclKey); err != nil {
		s.log.Warn("exclusive consumer: cannot release its claim", zap.String("queue", cs.queue), zap.Error(err))
	}
}
