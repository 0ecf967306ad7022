package amqp

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// x-expires: a queue unused for that many milliseconds (no consumers, no basic.get, no
// declare) is deleted, as in RabbitMQ. Each gateway times the queues it serves: the timer
// starts when the gateway starts (for every queue with x-expires) and restarts on each use
// here; when it fires, the queue goes only if no consumer is attached on any gateway. Use
// through another gateway does not restart this gateway's timer (doc.go).

// used restarts a queue's expiry timer; a queue with consumers here does not expire.
func (s *Server) used(vhost, name string, p policy) {
	if p.expires <= 0 {
		return
	}
	ns, ok := s.namespace(vhost)
	if !ok {
		return
	}
	topic := "persistent://" + ns + "/" + name
	stats := s.stats(topic)
	s.mu.Lock()
	defer s.mu.Unlock()
	if stats.expiry != nil {
		stats.expiry.Stop()
	}
	stats.expiryGen++
	gen := stats.expiryGen
	d := time.Duration(p.expires) * time.Millisecond
	stats.expiry = time.AfterFunc(d, func() { s.expire(vhost, name, topic, stats, gen) })
}

// expire deletes a queue whose timer fired, unless it is in use.
func (s *Server) expire(vhost, name, topic string, stats *queueStats, gen uint64) {
	s.mu.Lock()
	current := stats.expiryGen == gen && s.queues[topic] == stats
	busy := stats.consumers > 0
	getters := stats.getters
	s.mu.Unlock()
	if !current || busy {
		return // restarted, deleted, or consumed here: consumerGone restarts it
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, ok := s.topo.queue(vhost, name)
	if !ok {
		return
	}
	if subs, err := s.opts.Backend.Admin().Subscriptions(ctx, topic); err == nil {
		for _, sub := range subs {
			if sub.Name == s.opts.Subscription && sub.Consumers > getters {
				s.used(vhost, name, policyOf(name, q)) // consumed through another gateway
				return
			}
		}
	}
	s.log.Info("queue expired (x-expires)", zap.String("vhost", vhost), zap.String("queue", name))
	if err := s.deleteQueue(ctx, vhost, topic, name); err != nil {
		s.log.Warn("expired queue not deleted", zap.String("queue", name), zap.Error(err))
	}
}

// armExpiries starts the timers of every queue with x-expires, when the gateway starts.
func (s *Server) armExpiries() {
	s.topo.st.Range("q/", func(k string, v []byte) bool {
		vhost, name, ok := queueKey(k)
		if !ok {
			return true
		}
		if q, ok := s.topo.queue(vhost, name); ok {
			s.used(vhost, name, policyOf(name, q))
		}
		return true
	})
}
