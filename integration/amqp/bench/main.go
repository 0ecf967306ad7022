// Command bench compares the gateway's AMQP handler with RabbitMQ, with amqp091-go as the
// client of both, and prints a table of medians and gateway/RabbitMQ ratios.
//
// Scenarios (100-byte persistent bodies, publisher confirms with 256 in flight):
//   - queue: one durable queue, one consumer acking each delivery; end-to-end msgs/s is
//     messages over the time until the last one was delivered and every publish confirmed.
//   - fanout10: a fanout exchange to 10 durable queues with one acking consumer each;
//     published msgs/s and delivered msgs/s (10 per publish).
//
// Targets: the gateway in this process on the embedded backend (a temporary directory), on
// Pulsar when PULSAR_URL and PULSAR_ADMIN_URL are set, and a RabbitMQ node this program
// starts (rabbitmq-server on loopback, its own ports, a temporary directory) unless
// -rabbit-url names one or -rabbit=false. Runs are interleaved round by round.
//
//   - latency (with -scenarios latency): one publisher with confirms at a steady -rate, one
//     acking consumer; p50/p99/p99.9 publish-to-delivery.
//
//     go run ./integration/amqp/bench -n 20000 -rounds 3
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/integration/benchout"
)

var (
	n         = flag.Int("n", 20000, "messages per run (per publish for fanout10)")
	rounds    = flag.Int("rounds", 3, "interleaved rounds; the table shows medians")
	window    = flag.Int("window", 256, "publisher confirms in flight")
	size      = flag.Int("size", 100, "body bytes")
	prefetch  = flag.Int("prefetch", 1000, "consumer prefetch (basic.qos)")
	fanout    = flag.Int("fanout", 10, "queues of the fanout scenario")
	rabbit    = flag.Bool("rabbit", true, "start a RabbitMQ node (rabbitmq-server) to compare with")
	rabbitURL = flag.String("rabbit-url", "", "use this RabbitMQ instead of starting one")
	only      = flag.String("scenarios", "queue,fanout10", "scenarios to run")
	backends  = flag.String("backends", "embedded,pulsar", "the gateway's backends to run (pulsar needs PULSAR_URL and PULSAR_ADMIN_URL)")
	jsonOut   = flag.String("json", "", "also append the table's numbers to this file as JSON lines (integration/benchout)")
	latRate   = flag.Int("rate", 10000, "latency scenario: messages a second")
	latSecs   = flag.Int("secs", 10, "latency scenario: seconds per round (the first tenth is warm-up, not counted)")
	cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of this process (client and in-process gateway) here")
)

type target struct {
	name string
	url  string
	stop func()
}

func main() {
	flag.Parse()
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var targets []*target
	tmp, err := os.MkdirTemp("", "amqp-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	if slices.Contains(strings.Split(*backends, ","), "embedded") {
		b, err := embedded.Open(embedded.Options{Dir: filepath.Join(tmp, "embedded"), Logger: zap.NewNop()})
		if err != nil {
			log.Fatal(err)
		}
		targets = append(targets, serve("gateway/embedded", b))
	}
	if u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL"); u != "" && a != "" && slices.Contains(strings.Split(*backends, ","), "pulsar") {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		pb, err := pulsarbackend.Open(ctx, pulsarbackend.Options{URL: u, AdminURL: a, Logger: zap.NewNop(), SkipIndexProbe: true})
		cancel()
		if err != nil {
			log.Fatal(err)
		}
		targets = append(targets, serve("gateway/pulsar", pb))
	}
	switch {
	case *rabbitURL != "":
		targets = append(targets, &target{name: "rabbitmq", url: *rabbitURL, stop: func() {}})
	case *rabbit:
		t, err := startRabbit(filepath.Join(tmp, "rabbit"))
		if err != nil {
			for _, t := range targets {
				t.stop()
			}
			os.RemoveAll(tmp)
			log.Fatal(err)
		}
		targets = append(targets, t)
	}
	defer func() {
		for _, t := range targets {
			t.stop()
		}
	}()

	type key struct{ scenario, target, metric string }
	results := map[key][]float64{}
	scenarios := strings.Split(*only, ",")
	for r := 0; r < *rounds; r++ {
		for _, sc := range scenarios {
			// Rotate the targets' order every round.
			for i := range targets {
				t := targets[(i+r)%len(targets)]
				var res map[string]float64
				var err error
				switch sc {
				case "queue":
					res, err = runQueue(t, r)
				case "fanout10":
					res, err = runFanout(t, r)
				case "latency":
					res, err = runLatency(t, r)
				default:
					log.Fatalf("unknown scenario %q", sc)
				}
				if err != nil {
					log.Printf("round %d %s on %s: %v", r, sc, t.name, err)
					continue
				}
				var parts []string
				for m, v := range res {
					results[key{sc, t.name, m}] = append(results[key{sc, t.name, m}], v)
					parts = append(parts, fmt.Sprintf("%s %.0f", m, v))
				}
				sort.Strings(parts)
				log.Printf("round %d %-8s %-16s %s", r, sc, t.name, strings.Join(parts, ", "))
			}
		}
	}

	fmt.Printf("\n%d msgs of %d bytes, persistent, confirms window %d, prefetch %d, %d rounds (medians, msgs/s)\n\n",
		*n, *size, *window, *prefetch, *rounds)
	fmt.Printf("| scenario | metric | %s |", strings.Join(names(targets), " | "))
	hasRabbit := slices.ContainsFunc(targets, func(t *target) bool { return t.name == "rabbitmq" })
	var gws []*target
	for _, t := range targets {
		if strings.HasPrefix(t.name, "gateway") {
			gws = append(gws, t)
		}
	}
	if hasRabbit {
		for _, g := range gws {
			fmt.Printf(" %s ÷ rabbitmq |", strings.TrimPrefix(g.name, "gateway/"))
		}
	}
	fmt.Println()
	fmt.Print("|---|---|", strings.Repeat("---:|", len(targets)))
	if hasRabbit {
		fmt.Print(strings.Repeat("---:|", len(gws)))
	}
	fmt.Println()
	for _, sc := range scenarios {
		metrics := []string{"e2e"}
		switch sc {
		case "fanout10":
			metrics = []string{"published", "delivered"}
		case "latency":
			metrics = []string{"p50 ms", "p99 ms", "p99.9 ms"}
		}
		for _, m := range metrics {
			fmt.Printf("| %s | %s |", sc, m)
			med := map[string]float64{}
			for _, t := range targets {
				med[t.name] = median(results[key{sc, t.name, m}])
				if sc == "latency" {
					fmt.Printf(" %.2f |", med[t.name])
				} else {
					fmt.Printf(" %.0f |", med[t.name])
				}
				rec := benchout.Record{Group: "amqp", Scenario: sc, Metric: m + " msg/s", Target: t.name, Value: med[t.name],
					Runs: len(results[key{sc, t.name, m}])}
				if sc == "latency" {
					rec.Group, rec.Scenario, rec.Metric, rec.Lower = "latency", fmt.Sprintf("AMQP confirms %d/s x %d B", *latRate, *size), m, true
				}
				if hasRabbit && t.name != "rabbitmq" {
					rec.Ref = "rabbitmq"
				}
				if err := benchout.Append(*jsonOut, rec); err != nil {
					log.Fatal(err)
				}
			}
			if hasRabbit {
				for _, g := range gws {
					fmt.Printf(" %.2f |", med[g.name]/med["rabbitmq"])
				}
			}
			fmt.Println()
		}
	}
}

func names(ts []*target) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.name)
	}
	return s
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// serve runs the gateway's AMQP handler on 127.0.0.1:0 over backend b.
func serve(name string, b bridge.Backend) *target {
	srv, err := amqp.New(context.Background(), amqp.Options{Backend: b, Logger: zap.NewNop()})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				srv.HandleConn(ctx, nc)
				nc.Close()
			}()
		}
	}()
	return &target{name: name, url: "amqp://guest:guest@" + ln.Addr().String() + "/", stop: func() {
		ln.Close()
		cancel()
		wg.Wait()
		srv.Close()
		b.Close()
	}}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRabbit starts rabbitmq-server on loopback with its own ports and directories.
func startRabbit(dir string) (*target, error) {
	port, dist := freePort(), freePort()
	node := "bench" + strconv.Itoa(os.Getpid()) + "@localhost"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// Debian's wrapper drops root to the rabbitmq user: let it write its directory.
	os.Chmod(filepath.Dir(dir), 0o755)
	if u, err := user.Lookup("rabbitmq"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
	}
	conf := filepath.Join(dir, "rabbitmq.conf")
	os.WriteFile(conf, []byte("listeners.tcp.default = 127.0.0.1:"+strconv.Itoa(port)+"\nloopback_users = none\n"), 0o644)
	env := append(os.Environ(),
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port), "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "RABBITMQ_NODENAME="+node,
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist), "RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"), "RABBITMQ_CONFIG_FILE="+strings.TrimSuffix(conf, ".conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"), "ERL_EPMD_ADDRESS=127.0.0.1")
	os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644)
	cmd := exec.Command("rabbitmq-server")
	cmd.Env = env
	logf, _ := os.Create(filepath.Join(dir, "server.out"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("rabbitmq-server: %w", err)
	}
	ctl := func(args ...string) error {
		c := exec.Command("rabbitmqctl", append([]string{"-n", node}, args...)...)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("rabbitmqctl %v: %v: %s", args, err, out)
		}
		return nil
	}
	stop := func() {
		if err := ctl("stop"); err != nil {
			log.Print(err)
			cmd.Process.Kill()
		}
		cmd.Wait()
	}
	// await_startup fails while the node has not registered with epmd yet: retry.
	var werr error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if werr = ctl("await_startup", "--timeout", "120"); werr == nil {
			break
		}
	}
	if err := werr; err != nil {
		stop()
		out, _ := os.ReadFile(filepath.Join(dir, "server.out"))
		return nil, fmt.Errorf("%v\n%s", err, out)
	}
	log.Printf("rabbitmq %s on 127.0.0.1:%d", node, port)
	return &target{name: "rabbitmq", url: "amqp://guest:guest@127.0.0.1:" + strconv.Itoa(port) + "/", stop: stop}, nil
}

// publisher publishes count messages with confirms, window in flight, and returns when
// all are confirmed.
func publish(conn *amqp091.Connection, exchange, key string, count int) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return err
	}
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, *window+1))
	sem := make(chan struct{}, *window)
	done := make(chan error, 1)
	go func() {
		for i := 0; i < count; i++ {
			c, ok := <-confirms
			if !ok {
				done <- fmt.Errorf("channel closed after %d confirms", i)
				return
			}
			if !c.Ack {
				done <- fmt.Errorf("nack %d", c.DeliveryTag)
				return
			}
			<-sem
		}
		done <- nil
	}()
	bodies := benchout.Letters(count * *size) // distinct bodies
	ctx := context.Background()
	for i := 0; i < count; i++ {
		select {
		case sem <- struct{}{}:
		case err := <-done:
			return err
		}
		body := bodies[i**size : (i+1)**size]
		if err := ch.PublishWithContext(ctx, exchange, key, false, false, amqp091.Publishing{DeliveryMode: 2, Body: body}); err != nil {
			return err
		}
	}
	return <-done
}

// consumer acks each delivery of queue q and counts them into got.
func consumer(conn *amqp091.Connection, q string, count int, got *atomic.Int64) (<-chan error, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(*prefetch, 0, false); err != nil {
		return nil, err
	}
	d, err := ch.Consume(q, "", false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		defer ch.Close()
		for i := 0; i < count; i++ {
			m, ok := <-d
			if !ok {
				done <- fmt.Errorf("deliveries closed after %d", i)
				return
			}
			if err := m.Ack(false); err != nil {
				done <- err
				return
			}
			got.Add(1)
		}
		done <- nil
	}()
	return done, nil
}

func waitAll(errs []<-chan error, timeout time.Duration) error {
	deadline := time.After(timeout)
	for _, e := range errs {
		select {
		case err := <-e:
			if err != nil {
				return err
			}
		case <-deadline:
			return fmt.Errorf("timeout")
		}
	}
	return nil
}

func runQueue(t *target, round int) (map[string]float64, error) {
	conn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("bench-q-%d-%d", os.Getpid(), round)
	if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
		return nil, err
	}
	defer ch.QueueDelete(q, false, false, false)
	cconn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer cconn.Close()
	var got atomic.Int64
	start := time.Now()
	cdone, err := consumer(cconn, q, *n, &got)
	if err != nil {
		return nil, err
	}
	pdone := make(chan error, 1)
	go func() { pdone <- publish(conn, "", q, *n) }()
	if err := waitAll([]<-chan error{pdone, cdone}, 5*time.Minute); err != nil {
		return nil, err
	}
	return map[string]float64{"e2e": float64(*n) / time.Since(start).Seconds()}, nil
}

func runFanout(t *target, round int) (map[string]float64, error) {
	conn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	x := fmt.Sprintf("bench-fx-%d-%d", os.Getpid(), round)
	if err := ch.ExchangeDeclare(x, "fanout", true, false, false, false, nil); err != nil {
		return nil, err
	}
	defer ch.ExchangeDelete(x, false, false)
	cconn, err := amqp091.Dial(t.url)
	if err != nil {
		return nil, err
	}
	defer cconn.Close()
	var got atomic.Int64
	var errs []<-chan error
	for i := 0; i < *fanout; i++ {
		q := fmt.Sprintf("%s-q%d", x, i)
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			return nil, err
		}
		defer ch.QueueDelete(q, false, false, false)
		if err := ch.QueueBind(q, "", x, false, nil); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	for i := 0; i < *fanout; i++ {
		e, err := consumer(cconn, fmt.Sprintf("%s-q%d", x, i), *n, &got)
		if err != nil {
			return nil, err
		}
		errs = append(errs, e)
	}
	pdone := make(chan error, 1)
	var pubTime time.Duration
	go func() {
		err := publish(conn, x, "", *n)
		pubTime = time.Since(start)
		pdone <- err
	}()
	if err := waitAll(append([]<-chan error{pdone}, errs...), 5*time.Minute); err != nil {
		return nil, err
	}
	el := time.Since(start)
	return map[string]float64{"published": float64(*n) / pubTime.Seconds(), "delivered": float64(*n**fanout) / el.Seconds()}, nil
}
