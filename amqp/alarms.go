package amqp

import (
	"runtime"
	"time"

	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// Resource alarms, as RabbitMQ's memory and disk alarms: while any alarm is on, connections
// that publish are blocked (their reader waits at the next basic.publish, so the client's
// socket fills and it slows down) and those that advertised the connection.blocked
// capability are told so with connection.blocked, then connection.unblocked when every
// alarm has cleared. Connections that only consume go on.

// SetAlarm raises (on) or clears an alarm by name: "memory" (Options.MemoryAlarm) or any
// other source the embedding program watches, such as a backend refusing writes or a
// backlog over a bound.
func (s *Server) SetAlarm(name string, on bool) {
	s.mu.Lock()
	was := len(s.alarms) > 0
	if on {
		s.alarms[name] = true
	} else {
		delete(s.alarms, name)
	}
	now := len(s.alarms) > 0
	if was == now {
		s.mu.Unlock()
		return
	}
	var tell []*conn
	reason := "low on " + name
	if now {
		s.unblocked = make(chan struct{})
		s.blockReason = reason
		for c := range s.conns {
			if c.published.Load() && c.capable("connection.blocked") {
				c.blockedSent = true
				tell = append(tell, c)
			}
		}
	} else {
		close(s.unblocked)
		for c := range s.conns {
			if c.blockedSent {
				c.blockedSent = false
				tell = append(tell, c)
			}
		}
	}
	s.blocked.Store(now)
	s.mu.Unlock()
	s.log.Warn("resource alarm", zap.String("alarm", name), zap.Bool("on", on), zap.Bool("blocking", now))
	for _, c := range tell {
		if now {
			c.send(0, &wire.ConnectionBlocked{Reason: reason})
		} else {
			c.send(0, &wire.ConnectionUnblocked{})
		}
	}
}

// waitUnblocked holds a publishing connection's reader while an alarm is on.
func (c *conn) waitUnblocked() {
	s := c.s
	s.mu.Lock()
	wait, reason := s.unblocked, s.blockReason
	tell := len(s.alarms) > 0 && !c.blockedSent && c.capable("connection.blocked")
	if tell {
		c.blockedSent = true
	}
	s.mu.Unlock()
	if wait == nil {
		return
	}
	if tell {
		c.send(0, &wire.ConnectionBlocked{Reason: reason})
	}
	select {
	case <-wait:
	case <-c.ctx.Done(): // draining
	}
}

// watchMemory raises the "memory" alarm while the Go heap is above Options.MemoryAlarm.
func (s *Server) watchMemory() {
	t := time.NewTicker(s.opts.AlarmInterval)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			runtime.ReadMemStats(&ms)
			s.SetAlarm("memory", ms.HeapAlloc > s.opts.MemoryAlarm)
		}
	}
}
