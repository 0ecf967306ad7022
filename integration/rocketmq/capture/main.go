// Command capture is a recording TCP proxy for RocketMQ's remoting protocol: it sits in front of
// a name server and a broker, cuts each direction into frames (int32 total length, then the
// frame) and writes every frame, byte for byte, to a folder with an index. Used to capture the
// exchanges in ../testdata from a real RocketMQ (see ../testdata/README.md).
//
// Clients learn the broker's address from the name server, so the proxy rewrites that address
// in the name server's answers (route data and cluster info) to its own broker listener; the
// recorded frames are the name server's original bytes.
//
//	capture -namesrv 127.0.0.1:9876 -broker 127.0.0.1:10911 -out DIR
//
// prints CAPTURE_NAMESRV=127.0.0.1:PORT and runs until SIGINT/SIGTERM or -for elapses.
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

type recorder struct {
	dir   string
	mu    sync.Mutex
	seq   int
	index *os.File
}

// entry is one line of index.jsonl: enough to find a frame without decoding it again.
type entry struct {
	Seq        int             `json:"seq"`
	Conn       int             `json:"conn"`
	Target     string          `json:"target"` // namesrv or broker
	Dir        string          `json:"dir"`    // c2s (client to server) or s2c
	File       string          `json:"file"`
	Serialize  int             `json:"serialize"` // 0 JSON, 1 ROCKETMQ
	HeaderLen  int             `json:"headerLen"`
	BodyLen    int             `json:"bodyLen"`
	Header     json.RawMessage `json:"header,omitempty"`    // the JSON header as sent
	RMQHeader  *rmqHeader      `json:"rmqHeader,omitempty"` // a ROCKETMQ binary header, decoded
	At         string          `json:"at"`
	Rewritten  bool            `json:"rewritten,omitempty"` // forwarded with the broker address replaced
	ForwardLen int             `json:"forwardLen,omitempty"`
}

func (r *recorder) record(conn int, target, dir string, frame []byte) (entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e := entry{Seq: r.seq, Conn: conn, Target: target, Dir: dir, At: time.Now().UTC().Format(time.RFC3339Nano)}
	e.File = fmt.Sprintf("%05d-%s-c%02d-%s.bin", r.seq, target, conn, dir)
	if len(frame) >= 8 {
		hl := binary.BigEndian.Uint32(frame[4:8])
		e.Serialize = int(hl >> 24)
		e.HeaderLen = int(hl & 0xffffff)
		if 8+e.HeaderLen <= len(frame) {
			e.BodyLen = len(frame) - 8 - e.HeaderLen
			if e.Serialize == 0 && json.Valid(frame[8:8+e.HeaderLen]) {
				e.Header = json.RawMessage(frame[8 : 8+e.HeaderLen])
			}
			if e.Serialize == 1 {
				e.RMQHeader = decodeRMQ(frame[8 : 8+e.HeaderLen])
			}
		}
	}
	if err := os.WriteFile(filepath.Join(r.dir, e.File), frame, 0o644); err != nil {
		return e, err
	}
	return e, nil
}

func (r *recorder) writeIndex(e entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.Marshal(e)
	r.index.Write(append(b, '\n'))
}

// rmqHeader is RocketMQSerializable's header: code int16, language byte, version int16, opaque
// int32, flag int32, remark (int32 length + bytes), extFields (int32 total length, then per
// field int16 key length, key, int32 value length, value); all big-endian.
type rmqHeader struct {
	Code      int16             `json:"code"`
	Language  byte              `json:"language"`
	Version   int16             `json:"version"`
	Opaque    int32             `json:"opaque"`
	Flag      int32             `json:"flag"`
	Remark    string            `json:"remark,omitempty"`
	ExtFields map[string]string `json:"extFields,omitempty"`
}

func decodeRMQ(b []byte) *rmqHeader {
	if len(b) < 17 {
		return nil
	}
	h := &rmqHeader{
		Code:     int16(binary.BigEndian.Uint16(b[0:])),
		Language: b[2],
		Version:  int16(binary.BigEndian.Uint16(b[3:])),
		Opaque:   int32(binary.BigEndian.Uint32(b[5:])),
		Flag:     int32(binary.BigEndian.Uint32(b[9:])),
	}
	rl := int(binary.BigEndian.Uint32(b[13:]))
	b = b[17:]
	if rl > len(b) {
		return nil
	}
	h.Remark, b = string(b[:rl]), b[rl:]
	if len(b) < 4 {
		return h
	}
	el := int(binary.BigEndian.Uint32(b))
	b = b[4:]
	if el > len(b) {
		return nil
	}
	b = b[:el]
	h.ExtFields = map[string]string{}
	for len(b) >= 2 {
		kl := int(binary.BigEndian.Uint16(b))
		if 2+kl+4 > len(b) {
			return nil
		}
		k := string(b[2 : 2+kl])
		b = b[2+kl:]
		vl := int(binary.BigEndian.Uint32(b))
		if 4+vl > len(b) {
			return nil
		}
		h.ExtFields[k] = string(b[4 : 4+vl])
		b = b[4+vl:]
	}
	return h
}

// readFrame reads one whole frame including its 4-byte length prefix.
func readFrame(rd io.Reader) ([]byte, error) {
	var lenBuf [4]byte
	if _, err := io.ReadFull(rd, lenBuf[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	if n > 64<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	frame := make([]byte, 4+n)
	copy(frame, lenBuf[:])
	_, err := io.ReadFull(rd, frame[4:])
	return frame, err
}

// rewriteBody replaces old with new in the frame's body and fixes the total length.
func rewriteBody(frame []byte, old, new string) ([]byte, bool) {
	if len(frame) < 8 {
		return frame, false
	}
	hl := int(binary.BigEndian.Uint32(frame[4:8]) & 0xffffff)
	if 8+hl > len(frame) {
		return frame, false
	}
	body := frame[8+hl:]
	if !bytes.Contains(body, []byte(old)) {
		return frame, false
	}
	nb := bytes.ReplaceAll(body, []byte(old), []byte(new))
	out := make([]byte, 0, 8+hl+len(nb))
	out = binary.BigEndian.AppendUint32(out, uint32(4+hl+len(nb)))
	out = append(out, frame[4:8+hl]...)
	out = append(out, nb...)
	return out, true
}

type proxy struct {
	rec         *recorder
	mu          sync.Mutex
	conns       int
	brokerReal  string
	brokerProxy string
}

func (p *proxy) serve(ln net.Listener, target, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns++
		id := p.conns
		p.mu.Unlock()
		go p.handle(c, id, target, upstream)
	}
}

func (p *proxy) handle(client net.Conn, id int, target, upstream string) {
	defer client.Close()
	server, err := net.Dial("tcp", upstream)
	if err != nil {
		log.Printf("conn %d: dial %s: %v", id, upstream, err)
		return
	}
	defer server.Close()
	done := make(chan struct{}, 2)
	pump := func(from, to net.Conn, dir string) {
		defer func() { done <- struct{}{} }()
		for {
			frame, err := readFrame(from)
			if err != nil {
				return
			}
			e, err := p.rec.record(id, target, dir, frame)
			if err != nil {
				log.Printf("record: %v", err)
			}
			out := frame
			if target == "namesrv" && dir == "s2c" {
				var ok bool
				if out, ok = rewriteBody(frame, `"`+p.brokerReal+`"`, `"`+p.brokerProxy+`"`); ok {
					e.Rewritten, e.ForwardLen = true, len(out)
				}
			}
			p.rec.writeIndex(e)
			if _, err := to.Write(out); err != nil {
				return
			}
		}
	}
	go pump(client, server, "c2s")
	go pump(server, client, "s2c")
	<-done
}

func main() {
	namesrv := flag.String("namesrv", "127.0.0.1:9876", "real name server")
	broker := flag.String("broker", "127.0.0.1:10911", "real broker (as the name server names it)")
	out := flag.String("out", "capture-out", "folder for the frames and index.jsonl")
	listenNs := flag.String("listen-namesrv", "127.0.0.1:0", "proxy's name server listener")
	listenBr := flag.String("listen-broker", "127.0.0.1:0", "proxy's broker listener")
	dur := flag.Duration("for", 5*time.Minute, "stop after this long")
	flag.Parse()

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	idx, err := os.Create(filepath.Join(*out, "index.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	defer idx.Close()
	lnNs, err := net.Listen("tcp", *listenNs)
	if err != nil {
		log.Fatal(err)
	}
	lnBr, err := net.Listen("tcp", *listenBr)
	if err != nil {
		log.Fatal(err)
	}
	p := &proxy{rec: &recorder{dir: *out, index: idx}, brokerReal: *broker, brokerProxy: lnBr.Addr().String()}
	go p.serve(lnNs, "namesrv", *namesrv)
	go p.serve(lnBr, "broker", *broker)
	fmt.Printf("CAPTURE_NAMESRV=%s\nCAPTURE_BROKER=%s\n", lnNs.Addr(), lnBr.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
	case <-time.After(*dur):
	}
	lnNs.Close()
	lnBr.Close()
}
