package main

import (
	"fmt"
	"os"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

// latency runs one QoS 1 publisher at rate messages a second for secs into
// one QoS 1 subscriber of its topic and returns each message's publish to
// delivery time (the payload carries its send time).
func latency(addr string, rate, secs int) ([]time.Duration, error) {
	topic := fmt.Sprintf("lat/%d/%d", os.Getpid(), runSeq.Add(1))
	id := fmt.Sprintf("lat-%d-%d", os.Getpid(), runSeq.Load())
	n := rate * secs
	sub, err := dial(addr, "", id+"-s", 60)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	if err := sub.subscribe(topic, 1); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, n)
	done := make(chan error, 1)
	go func() {
		for len(lat) < n {
			typ, b, err := sub.read()
			if err != nil {
				done <- fmt.Errorf("received %d of %d: %w", len(lat), n, err)
				return
			}
			if typ>>4 != 3 {
				continue
			}
			tl := int(b[0])<<8 | int(b[1])
			body := b[2+tl:]
			if (typ>>1)&3 > 0 {
				id := uint16(body[0])<<8 | uint16(body[1])
				body = body[2:]
				sub.wmu.Lock()
				sub.puback(id)
				if sub.r.Buffered() == 0 {
					sub.flush()
				}
				sub.wmu.Unlock()
			}
			lat = append(lat, benchout.Latency(body))
		}
		sub.wmu.Lock()
		sub.flush()
		sub.wmu.Unlock()
		done <- nil
	}()
	pub, err := dial(addr, "", id+"-p", 60)
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	sem := make(chan struct{}, *window)
	go func() {
		for {
			typ, _, err := pub.read()
			if err != nil {
				return
			}
			if typ>>4 == 4 {
				<-sem
			}
		}
	}()
	values := benchout.Letters(n * *payloadLen)
	buf := make([]byte, 0, 256)
	err = benchout.Paced(n, rate, func(i int) error {
		select {
		case sem <- struct{}{}:
		default:
			if err := pub.flush(); err != nil {
				return err
			}
			sem <- struct{}{}
		}
		v := values[i**payloadLen : (i+1)**payloadLen]
		benchout.Stamp(v)
		buf = pub.publish(topic, 1, uint16(i%65535+1), v, buf)
		return nil
	}, pub.flush)
	if err != nil {
		return nil, err
	}
	select {
	case err := <-done:
		return lat, err
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("received %d of %d in time", len(lat), n)
	}
}
