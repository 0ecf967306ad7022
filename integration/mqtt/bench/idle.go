package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// idleResult is what the idle scenario measured on one server.
type idleResult struct {
	conns     int     // connected and subscribed
	perConn   float64 // RSS growth per connection, bytes
	connRate  float64 // connections (CONNECT + SUBSCRIBE) a second
	idleCPU   float64 // % of one core while all of them idle
	busyCPU   float64 // % of one core while -active of them publish 1 msg/s
	published int64   // by the active connections
	acked     int64   // PUBACKs they got
	delivered int64   // of their messages, back to them through their subscription
}

// cpu is the time the server process ran, user and system.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		log.Fatal(err)
	}
	// The fields after the command (which may hold spaces) in parentheses:
	// state is the 3rd field of stat, utime the 14th, stime the 15th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ, 100 on Linux
}

// cpuOver is the server's CPU use over d, in % of one core.
func (s *server) cpuOver(d time.Duration) float64 {
	c0, t0 := s.cpu(), time.Now()
	time.Sleep(d)
	return 100 * float64(s.cpu()-c0) / float64(time.Since(t0))
}

// idleScenario opens n connections from local, as a fleet of devices does:
// keep-alive 60 s (a PINGREQ a minute each, spread out), one QoS 1
// subscription each to a topic of its own. It measures the server's RSS
// growth per connection, the connect rate, the CPU while they idle, then
// the CPU while active of them publish a QoS 1 message a second each to
// their own topic (for secs seconds) and checks that every message was
// acknowledged and delivered.
func idleScenario(s *server, n, active int, local string, secs int) idleResult {
	const keepAlive = 60
	time.Sleep(time.Second)
	before := s.rss()
	// Filled while the pinger below reads it.
	slots := make([]atomic.Pointer[client], n)
	var wg sync.WaitGroup
	var next, failed atomic.Int64
	prefix := fmt.Sprintf("idle-%d-%s", os.Getpid(), strings.ReplaceAll(s.name, "/", "-"))
	begin := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := dialSize(s.addr, local, fmt.Sprintf("%s-%d", prefix, i), keepAlive, 512)
				if err == nil {
					if err = c.subscribe(fmt.Sprintf("%s/%d", prefix, i), 1); err != nil {
						c.Close()
					}
				}
				if err != nil {
					if failed.Add(1) == 1 {
						log.Printf("%s: idle connection %d: %v", s.name, i, err)
					}
					continue
				}
				slots[i].Store(c)
			}
		}()
	}
	// Keep-alive: each connection pings once a minute, spread evenly, from
	// the start: connecting them all may take longer than 1.5 keep-alives.
	stopPing := make(chan struct{})
	defer close(stopPing)
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		per := float64(n) / (keepAlive * 100) // connections a tick
		var due float64
		i := 0
		for {
			select {
			case <-stopPing:
				return
			case <-tick.C:
			}
			for due += per; due >= 1; due-- {
				if c := slots[i].Load(); c != nil {
					c.wmu.Lock()
					c.packet(0xc0, nil)
					c.flush()
					c.wmu.Unlock()
				}
				i = (i + 1) % n
			}
		}
	}()
	wg.Wait()
	conns := make([]*client, n)
	for i := range slots {
		conns[i] = slots[i].Load()
	}
	took := time.Since(begin)
	res := idleResult{conns: n - int(failed.Load())}
	res.connRate = float64(res.conns) / took.Seconds()
	if f := failed.Load(); f > 0 {
		log.Printf("%s: %d of %d idle connections failed", s.name, f, n)
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	time.Sleep(2 * time.Second)
	res.perConn = float64(s.rss()-before) / float64(res.conns)
	res.idleCPU = s.cpuOver(10 * time.Second)
	log.Printf("%s: RSS growth per connection %.2f KiB after connecting, %.2f KiB 10 s later", s.name,
		res.perConn/1024, float64(s.rss()-before)/float64(res.conns)/1024)

	// The busy phase: the first active connections publish, the rest idle.
	var act []int
	for i, c := range conns {
		if c != nil && len(act) < active {
			act = append(act, i)
		}
	}
	var published, acked, delivered atomic.Int64
	var readers sync.WaitGroup
	for _, i := range act {
		c := conns[i]
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				typ, b, err := c.read()
				if err != nil {
					return
				}
				switch typ >> 4 {
				case 4: // PUBACK of its publish
					acked.Add(1)
				case 3: // its message, back through its subscription
					if q := (typ >> 1) & 3; q > 0 && len(b) >= 2 {
						tl := int(b[0])<<8 | int(b[1])
						if len(b) >= 4+tl {
							c.wmu.Lock()
							c.puback(uint16(b[2+tl])<<8 | uint16(b[3+tl]))
							c.flush()
							c.wmu.Unlock()
						}
					}
					delivered.Add(1)
				}
			}
		}()
	}
	c0, t0 := s.cpu(), time.Now()
	stop := time.Now().Add(time.Duration(secs) * time.Second)
	var pubs sync.WaitGroup
	for _, i := range act {
		c := conns[i]
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			topic := fmt.Sprintf("%s/%d", prefix, i)
			payload := make([]byte, *payloadLen)
			// Spread over the second, as devices' clocks are.
			time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
			buf := make([]byte, 0, 256)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for id := uint16(1); time.Now().Before(stop); id++ {
				copy(payload, fmt.Sprintf("%d/%d", i, id))
				c.wmu.Lock()
				buf = c.publish(topic, 1, id, payload, buf)
				err := c.flush()
				c.wmu.Unlock()
				if err != nil {
					return
				}
				published.Add(1)
				<-tick.C
			}
		}()
	}
	pubs.Wait()
	res.busyCPU = 100 * float64(s.cpu()-c0) / float64(time.Since(t0))
	// Every message acknowledged and delivered, or deliveries stalled.
	for last := int64(-1); ; {
		time.Sleep(time.Second)
		now := acked.Load() + delivered.Load()
		if now == 2*published.Load() || now == last {
			break
		}
		last = now
	}
	res.published, res.acked, res.delivered = published.Load(), acked.Load(), delivered.Load()
	return res
}
