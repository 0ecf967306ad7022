// Command bench compares the gateway's MQTT end-to-end throughput and idle
// connection memory with Mosquitto's, on this machine, in one run with the
// servers interleaved (each round runs every scenario on every server) and
// reports medians. See integration/mqtt/README.md.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

var (
	gatewayBin = flag.String("gateway", "", "gateway binary (default: go build ./cmd/pulsar-gateway)")
	rounds     = flag.Int("rounds", 3, "rounds; every round runs every scenario on every server")
	perPub     = flag.Int("msgs", 2000, "messages per publisher (fan-in) or published (fan-out)")
	fan        = flag.Int("fan", 10, "subscribers of the fan-out")
	fans       = flag.String("fans", "10", "publishers of each fan-in scenario, comma-separated (e.g. 1,4,10; empty: none)")
	total      = flag.Int("total", 0, "messages of each fan-in scenario split over its publishers (0: -msgs per publisher)")
	qosFlag    = flag.String("qos", "0,1", "QoS levels of the fan-in and fan-out scenarios, comma-separated (0,1,2)")
	fanOut     = flag.Bool("fanout", true, "run the fan-out scenario")
	latRate    = flag.Int("rate", 0, "latency scenario: QoS 1 messages a second from 1 publisher to 1 subscriber (0: skip)")
	latSecs    = flag.Int("secs", 10, "latency scenario: seconds per round (the first tenth is warm-up, not counted)")
	jsonOut    = flag.String("json", "", "also append the table's numbers to this file as JSON lines (integration/benchout)")
	payloadLen = flag.Int("payload", 100, "payload bytes")
	window     = flag.Int("window", 100, "QoS 1 messages a publisher has unacknowledged")
	idle       = flag.Int("idle", 10000, "connections of the idle scenario: keep-alive 60 s, one subscription each (0: skip)")
	active     = flag.Int("active", 1000, "idle scenario: connections that then publish 1 QoS 1 msg/s each while the rest idle")
	idleSecs   = flag.Int("idle-secs", 10, "idle scenario: seconds the active connections publish")
	only       = flag.String("servers", "", "comma-separated subset of embedded,mosquitto,pulsar")
	pulsarURL  = flag.String("pulsar-url", os.Getenv("PULSAR_URL"), "Pulsar broker; empty skips the Pulsar backend")
	cpuprofile = flag.String("cpuprofile", "", "serve the gateway in this process (embedded backend) and write a CPU profile of the scenarios here")
	pulsarAdm  = flag.String("pulsar-admin-url", os.Getenv("PULSAR_ADMIN_URL"), "Pulsar admin URL")
)

type server struct {
	name string
	addr string
	cmd  *exec.Cmd
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func start(name string, args []string, port int) *server {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	s := &server{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(60 * time.Second); ; {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			log.Fatalf("%s does not listen on %s", name, s.addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// rss is the server's resident set in bytes.
func (s *server) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

var runSeq atomic.Int64

// result of one scenario run.
type result struct {
	rate float64 // deliveries per second
	lost int
}

// scenario runs pubs publishers to subs subscribers of one topic, each
// publisher sending n messages at qos; it returns deliveries/s from the
// first publish to the last delivery.
func scenario(addr string, pubs, subs, n int, qos byte) result {
	topic := fmt.Sprintf("bench/%d/%d", os.Getpid(), runSeq.Add(1))
	want := int64(pubs * n)
	var got atomic.Int64
	var last atomic.Int64
	doneSubs := make(chan struct{}, subs)
	var closers []func()
	for i := range subs {
		c, err := dial(addr, "", fmt.Sprintf("bs-%s-%d", strings.ReplaceAll(topic, "/", "-"), i), 60)
		if err != nil {
			log.Fatal(err)
		}
		closers = append(closers, func() { c.Close() })
		if err := c.subscribe(topic, qos); err != nil {
			log.Fatal(err)
		}
		go func() {
			var mine int64
			for {
				typ, b, err := c.read()
				if err != nil {
					return
				}
				if typ>>4 == 6 && len(b) >= 2 { // PUBREL of QoS 2: complete it
					c.wmu.Lock()
					c.ack(0x70, uint16(b[0])<<8|uint16(b[1]))
					if c.r.Buffered() == 0 {
						c.flush()
					}
					c.wmu.Unlock()
					continue
				}
				if typ>>4 != 3 {
					continue
				}
				if q := (typ >> 1) & 3; q > 0 {
					tl := int(b[0])<<8 | int(b[1])
					id := uint16(b[2+tl])<<8 | uint16(b[3+tl])
					c.wmu.Lock()
					if q == 2 {
						c.ack(0x50, id) // PUBREC; the message is delivered now, as Mosquitto's clients take it
					} else {
						c.puback(id)
					}
					if c.r.Buffered() == 0 {
						c.flush()
					}
					c.wmu.Unlock()
				}
				got.Add(1)
				last.Store(time.Now().UnixNano())
				if mine++; mine == want {
					c.wmu.Lock()
					c.flush()
					c.wmu.Unlock()
					doneSubs <- struct{}{}
				}
			}
		}()
	}
	var pubClients []*client
	for i := range pubs {
		c, err := dial(addr, "", fmt.Sprintf("bp-%s-%d", strings.ReplaceAll(topic, "/", "-"), i), 60)
		if err != nil {
			log.Fatal(err)
		}
		closers = append(closers, func() { c.Close() })
		pubClients = append(pubClients, c)
	}
	time.Sleep(200 * time.Millisecond)
	begin := time.Now()
	var wg sync.WaitGroup
	for _, c := range pubClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A QoS 2 message stays in flight until PUBCOMP: keep within
			// the servers' receive maximum (Mosquitto's and the gateway's
			// 64), which Mosquitto enforces by closing the connection.
			win := *window
			if qos == 2 {
				win = min(win, 64)
			}
			sem := make(chan struct{}, win)
			dead := make(chan struct{}) // the server closed the connection
			if qos > 0 {
				go func() {
					defer close(dead)
					for {
						typ, b, err := c.read()
						if err != nil {
							return
						}
						switch typ >> 4 {
						case 4, 7: // PUBACK, PUBCOMP
							<-sem
						case 5: // PUBREC: release it
							if len(b) >= 2 {
								c.wmu.Lock()
								c.ack(0x62, uint16(b[0])<<8|uint16(b[1]))
								c.flush()
								c.wmu.Unlock()
							}
						}
					}
				}()
			}
			// The reader above writes PUBRELs: writes hold wmu.
			flush := func() {
				c.wmu.Lock()
				c.flush()
				c.wmu.Unlock()
			}
			buf := make([]byte, 0, 256)
			values := benchout.Letters(n * *payloadLen) // distinct payloads
			for i := range n {
				payload := values[i**payloadLen : (i+1)**payloadLen]
				if qos > 0 {
					select {
					case sem <- struct{}{}:
					default:
						flush()
						select {
						case sem <- struct{}{}:
						case <-dead:
							log.Printf("publisher: connection closed after %d of %d", i, n)
							return
						}
					}
				}
				c.wmu.Lock()
				buf = c.publish(topic, qos, uint16(i%65535+1), payload, buf)
				if i%32 == 31 {
					c.flush()
				}
				c.wmu.Unlock()
			}
			flush()
			if qos > 0 { // all acknowledged
				for range win {
					select {
					case sem <- struct{}{}:
					case <-dead:
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	// Wait for every subscriber, or for deliveries to stall.
	ended := 0
	for ended < subs {
		before := got.Load()
		select {
		case <-doneSubs:
			ended++
		case <-time.After(5 * time.Second):
			if got.Load() == before {
				ended = subs
			}
		}
	}
	total := got.Load()
	end := time.Unix(0, last.Load())
	for _, f := range closers {
		f()
	}
	return result{rate: float64(total) / end.Sub(begin).Seconds(), lost: int(want*int64(subs) - total)}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func main() {
	flag.Parse()
	log.SetFlags(log.Ltime)
	work, err := os.MkdirTemp("", "mqtt-bench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	bin := *gatewayBin
	if bin == "" {
		bin = filepath.Join(work, "pulsar-gateway")
		b := exec.Command("go", "build", "-o", bin, "./cmd/pulsar-gateway")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			log.Fatal("go build (run from the repository root, or pass -gateway): ", err)
		}
	}
	want := func(name string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), name) }
	gwArgs := func(port int, extra ...string) []string {
		return append([]string{bin, "--mqtt-addr", fmt.Sprintf("127.0.0.1:%d", port), "--kafka-enabled=false",
			"--amqp-enabled=false", "--http-enabled=false", "--limits-max-connections=0", "--schema-registry-enabled=false", "--log-level", "warn"}, extra...)
	}
	var servers []*server
	if *cpuprofile != "" {
		addr, stop := inproc(filepath.Join(work, "inproc"))
		defer stop()
		servers = append(servers, &server{name: "gateway/inproc", addr: addr})
		defer startProfile(*cpuprofile)()
	} else if want("embedded") {
		p := freePort()
		servers = append(servers, start("gateway/embedded", gwArgs(p, "--data-dir", filepath.Join(work, "data")), p))
	}
	if want("mosquitto") {
		p := freePort()
		conf := filepath.Join(work, "mosquitto.conf")
		// The gateway's defaults: 64 unacknowledged messages per session,
		// no limit on queued ones (it holds them in the backend).
		os.WriteFile(conf, []byte(fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
			"max_inflight_messages 64\nmax_queued_messages 0\nmax_connections -1\nlog_dest none\n", p)), 0o644)
		servers = append(servers, start("mosquitto", []string{"mosquitto", "-c", conf}, p))
	}
	if want("pulsar") && *pulsarURL != "" {
		p := freePort()
		servers = append(servers, start("gateway/pulsar", gwArgs(p, "--backend", "pulsar", "--pulsar-url", *pulsarURL,
			"--pulsar-admin-url", *pulsarAdm), p))
	}
	defer func() {
		for _, s := range servers {
			if s.cmd != nil {
				s.stop()
			}
		}
	}()

	type key struct {
		scen   string
		qos    byte
		server string
	}
	type scen struct {
		name          string
		pubs, subs, n int
	}
	var scens []scen
	for _, f := range strings.Split(*fans, ",") {
		if *fans == "" {
			break // latency only
		}
		pubs, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pubs < 1 {
			log.Fatalf("-fans: %q", f)
		}
		per := *perPub
		if *total > 0 {
			per = *total / pubs
		}
		scens = append(scens, scen{fmt.Sprintf("%d pub -> 1 sub", pubs), pubs, 1, per})
	}
	if *fanOut {
		scens = append(scens, scen{fmt.Sprintf("1 pub -> %d sub", *fan), 1, *fan, *perPub})
	}
	// Memory first, on fresh processes: a warm heap (glibc's or Go's)
	// would take new connections into memory it already holds.
	idles := map[string]idleResult{}
	if *idle > 0 && *cpuprofile == "" {
		for i, s := range servers {
			r := idleScenario(s, *idle, *active, fmt.Sprintf("127.0.0.%d", i+2), *idleSecs)
			idles[s.name] = r
			log.Printf("%s: %d idle connections: %.2f KiB each, %.0f connections/s, idle CPU %.2f%%; %d publishing: CPU %.1f%%, %d published, %d acked, %d delivered",
				s.name, r.conns, r.perConn/1024, r.connRate, r.idleCPU, *active, r.busyCPU, r.published, r.acked, r.delivered)
		}
	}
	var qosList []byte
	for _, q := range strings.Split(*qosFlag, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(q))
		if err != nil || v < 0 || v > 2 {
			log.Fatalf("-qos: %q", q)
		}
		qosList = append(qosList, byte(v))
	}
	rates := map[key][]float64{}
	lost := map[key]int{}
	lats := map[string][][3]float64{}
	for r := range *rounds {
		for _, sc := range scens {
			for _, qos := range qosList {
				// Rotate the servers' order every round.
				for i := range servers {
					s := servers[(i+r)%len(servers)]
					res := scenario(s.addr, sc.pubs, sc.subs, sc.n, qos)
					k := key{sc.name, qos, s.name}
					rates[k] = append(rates[k], res.rate)
					lost[k] += res.lost
					log.Printf("round %d  %-16s qos %d  %-17s %9.0f msg/s  lost %d", r+1, sc.name, qos, s.name, res.rate, res.lost)
				}
			}
		}
		if *latRate > 0 {
			for i := range servers {
				s := servers[(i+r)%len(servers)]
				lat, err := latency(s.addr, *latRate, *latSecs)
				if err != nil {
					log.Printf("round %d latency %s: %v", r+1, s.name, err)
					continue
				}
				p50, p99, p999 := benchout.Percentiles(lat)
				lats[s.name] = append(lats[s.name], [3]float64{p50, p99, p999})
				log.Printf("round %d  latency QoS 1 %d/s  %-17s p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms", r+1, *latRate, s.name, p50, p99, p999)
			}
		}
	}
	writeJSON := func(rs ...benchout.Record) {
		if err := benchout.Append(*jsonOut, rs...); err != nil {
			log.Fatal(err)
		}
	}
	refOf := func(name string) string {
		if name != "mosquitto" && want("mosquitto") {
			return "mosquitto"
		}
		return ""
	}

	if *rounds > 0 {
		fmt.Printf("\nMQTT end-to-end, %d-byte payloads, median of %d rounds, msgs/s delivered (ratio = gateway / mosquitto)\n\n", *payloadLen, *rounds)
		head := "| scenario | QoS |"
		sep := "|---|---|"
		for _, s := range servers {
			head += " " + s.name + " |"
			sep += "---|"
			if s.name != "mosquitto" && want("mosquitto") {
				head += " ratio |"
				sep += "---|"
			}
		}
		fmt.Println(head)
		fmt.Println(sep)
		for _, sc := range scens {
			for _, qos := range qosList {
				line := fmt.Sprintf("| %s | %d |", sc.name, qos)
				base := median(rates[key{sc.name, qos, "mosquitto"}])
				for _, s := range servers {
					k := key{sc.name, qos, s.name}
					m := median(rates[k])
					rec := benchout.Record{Group: "mqtt", Scenario: fmt.Sprintf("%s QoS %d", sc.name, qos), Metric: "msg/s",
						Target: s.name, Ref: refOf(s.name), Value: m, Runs: len(rates[k])}
					if lost[k] > 0 {
						rec.Note = fmt.Sprintf("%d of %d never delivered over the rounds", lost[k], sc.pubs*sc.n*sc.subs*len(rates[k]))
					}
					writeJSON(rec)
					cell := fmt.Sprintf(" %.0f", m)
					if lost[k] > 0 {
						cell += fmt.Sprintf(" (%d lost)", lost[k])
					}
					line += cell + " |"
					if s.name != "mosquitto" && want("mosquitto") {
						line += fmt.Sprintf(" %.2f |", m/base)
					}
				}
				fmt.Println(line)
			}
		}
	}
	if *idle > 0 && *cpuprofile == "" {
		scen := fmt.Sprintf("MQTT idle connections (%d)", *idle)
		busy := fmt.Sprintf("%s, %d publishing 1 msg/s", scen, *active)
		rows := []struct {
			scen, metric string
			lower        bool
			v            func(idleResult) float64
		}{
			{scen, "KiB/conn", true, func(r idleResult) float64 { return r.perConn / 1024 }},
			{scen, "conn/s", false, func(r idleResult) float64 { return r.connRate }},
			{scen, "CPU %", true, func(r idleResult) float64 { return r.idleCPU }},
			{busy, "CPU %", true, func(r idleResult) float64 { return r.busyCPU }},
		}
		fmt.Printf("\nMQTT idle connections: keep-alive 60 s, one QoS 1 subscription each; then %d of them publish 1 QoS 1 msg/s for %d s\n\n", *active, *idleSecs)
		for _, row := range rows {
			line := fmt.Sprintf("| %s | %s |", row.scen, row.metric)
			for _, s := range servers {
				r := idles[s.name]
				rec := benchout.Record{Group: "memory", Scenario: row.scen, Metric: row.metric, Target: s.name, Ref: refOf(s.name),
					Value: row.v(r), Lower: row.lower, Runs: 1}
				var notes []string
				if row.scen == scen && r.conns < *idle {
					notes = append(notes, fmt.Sprintf("%d of %d connected", r.conns, *idle))
				}
				if row.scen == busy && (r.acked < r.published || r.delivered < r.published) {
					notes = append(notes, fmt.Sprintf("of %d published, %d not acknowledged, %d not delivered",
						r.published, r.published-r.acked, r.published-r.delivered))
				}
				rec.Note = strings.Join(notes, "; ")
				writeJSON(rec)
				line += fmt.Sprintf(" %.2f", rec.Value)
				if rec.Note != "" {
					line += " (" + rec.Note + ")"
				}
				line += " |"
			}
			fmt.Println(line)
		}
	}
	if len(lats) > 0 {
		fmt.Printf("\nMQTT QoS 1 latency, 1 publisher at %d msg/s -> 1 subscriber, %d B, publish to delivery (medians of rounds)\n\n| server | p50 ms | p99 ms | p99.9 ms |\n|---|---|---|---|\n", *latRate, *payloadLen)
		for _, s := range servers {
			if len(lats[s.name]) == 0 {
				continue
			}
			line := "| " + s.name + " |"
			for j, m := range []string{"p50 ms", "p99 ms", "p99.9 ms"} {
				var v []float64
				for _, p := range lats[s.name] {
					v = append(v, p[j])
				}
				line += fmt.Sprintf(" %.2f |", median(v))
				writeJSON(benchout.Record{Group: "latency", Scenario: fmt.Sprintf("MQTT QoS 1 %d/s x %d B", *latRate, *payloadLen),
					Metric: m, Target: s.name, Ref: refOf(s.name), Value: median(v), Lower: true, Runs: len(v)})
			}
			fmt.Println(line)
		}
	}
}
