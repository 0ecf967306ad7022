// Command suite is issue 19's acceptance suite for a RocketMQ endpoint: the real clients users
// have (rocketmq-client-go/v2 in this process, RocketMQ's Java client 5.1.4 in a JVM it starts)
// against one name-server address, each scenario asserting what a user would check. It prints
// one `ok   <scenario> (<seconds>)` or `FAIL <scenario>: <why>` line per scenario, that
// scenario's log under a failure, and `N passed, N failed` at the end; exit status 1 on any
// failure, also when the endpoint cannot be reached or a tool (java, javac, mvn) is missing:
// a run never skips.
//
//	ROCKETMQ_NAMESRV=127.0.0.1:9876 go run ./integration/rocketmq/suite      # any endpoint
//	go run ./integration/rocketmq/suite -gateway BIN -backend embedded       # the gateway binary,
//	    started here with RocketMQ, Kafka, MQTT and AMQP on free ports; adds the cross-protocol
//	    scenarios (and a native Pulsar client on -backend pulsar, PULSAR_URL/PULSAR_ADMIN_URL)
//
// ../suite.sh runs it against a real RocketMQ (../rocketmq.sh) or against the gateway on each
// backend. Scenarios run -parallel at a time (each has its own topics and groups); the Java
// client's scenarios run one after another in one JVM, beside the Go ones.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

var (
	namesrvFlag = flag.String("namesrv", os.Getenv("ROCKETMQ_NAMESRV"), "name server address host:port (';' separates several); default $ROCKETMQ_NAMESRV")
	gatewayBin  = flag.String("gateway", "", "gateway binary: start it (RocketMQ, Kafka, MQTT and AMQP on free ports) and run the cross-protocol scenarios too")
	backendFlag = flag.String("backend", "embedded", "with -gateway: embedded or pulsar (PULSAR_URL, PULSAR_ADMIN_URL)")
	gatewayArgs = flag.String("gateway-args", os.Getenv("ROCKETMQ_SUITE_GATEWAY_ARGS"), "with -gateway: extra flags for it, space-separated")
	runFlag     = flag.String("run", "", "only scenarios whose name matches this regexp (e.g. '^go/' or 'java/(delay|retry)')")
	skipFlag    = flag.String("skip", "", "leave out scenarios whose name matches this regexp (e.g. 'sql92' where a target does not filter by SQL92)")
	parallel    = flag.Int("parallel", 4, "scenarios at a time (the Java client's count as one)")
	timeoutFlag = flag.Duration("timeout", 90*time.Second, "bound on one scenario (the Java client's: on all of them)")
	prefixFlag  = flag.String("prefix", fmt.Sprintf("st%x", time.Now().Unix()&0xffffff), "prefix of every topic and group (a broker keeps state between runs)")
	verbose     = flag.Bool("v", false, "print every scenario's log, not only the failed ones'")
	javaDirFlag = flag.String("java-dir", "", "folder of Suite.java and its pom.xml (default: the java/ folder beside this program's source)")
	noJava      = flag.Bool("no-java", false, "leave the Java client's scenarios out (for working on the Go ones; a full run needs them)")
)

// env is what a scenario talks to.
type env struct {
	namesrv []string
	prefix  string
	// gateway mode only: the other protocols of the same gateway process.
	gateway           bool
	kafka, mqtt, amqp string
	pulsarURL         string // native Pulsar client, -backend pulsar only
	pulsarAdmin       string
}

// scenario is one user-visible behaviour; run returns nil when it held.
type scenario struct {
	name    string
	gateway bool // needs the gateway (cross-protocol)
	pulsar  bool // needs the gateway on Pulsar (a native Pulsar client beside it)
	run     func(ctx context.Context, e *env, l *logger) error
}

// logger collects a scenario's lines, printed under its result.
type logger struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	note string // shown on the scenario's ok line
}

// reportNote sets what the scenario's result line says beside ok (e.g. duplicates counted).
func reportNote(l *logger, note string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.note = note
}

func (l *logger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, "    "+format+"\n", args...)
}

func (l *logger) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func main() {
	flag.Parse()
	rlog.SetLogLevel("error")
	if *memberGroup != "" {
		os.Exit(runMember())
	}
	os.Exit(run())
}

func run() int {
	e := &env{prefix: *prefixFlag}
	var stop func()
	if *gatewayBin != "" {
		var err error
		e, stop, err = startGateway(*gatewayBin, *backendFlag, strings.Fields(*gatewayArgs), *prefixFlag)
		if err != nil {
			fmt.Printf("FAIL gateway: %v\n0 passed, 1 failed\n", err)
			return 1
		}
		defer stop()
	} else {
		if *namesrvFlag == "" {
			fmt.Println("FAIL endpoint: no name server: set ROCKETMQ_NAMESRV or -namesrv\n0 passed, 1 failed")
			return 1
		}
		e.namesrv = strings.Split(*namesrvFlag, ";")
	}
	for _, a := range e.namesrv {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			fmt.Printf("FAIL endpoint: name server %s: %v\n0 passed, 1 failed\n", a, err)
			return 1
		}
		c.Close()
	}
	fmt.Printf("suite: name server %s, prefix %s\n", strings.Join(e.namesrv, ";"), e.prefix)

	filter, err := regexp.Compile(*runFlag)
	if err != nil {
		fmt.Printf("FAIL -run: %v\n", err)
		return 1
	}
	skip, err := regexp.Compile(*skipFlag)
	if err != nil {
		fmt.Printf("FAIL -skip: %v\n", err)
		return 1
	}
	selected := func(name string) bool {
		return filter.MatchString(name) && (*skipFlag == "" || !skip.MatchString(name))
	}
	var todo []scenario
	for _, s := range append(goScenarios(), crossScenarios()...) {
		if s.gateway && !e.gateway || s.pulsar && e.pulsarURL == "" {
			continue
		}
		if selected(s.name) {
			todo = append(todo, s)
		}
	}
	// The Java client's scenarios: one JVM, its own lines; a unit of the pool like a Go scenario.
	var javaNames []string
	for _, n := range javaScenarioNames {
		if selected("java/" + n) {
			javaNames = append(javaNames, n)
		}
	}
	if len(javaNames) > 0 && !*noJava {
		todo = append([]scenario{{name: "java", run: func(ctx context.Context, e *env, l *logger) error {
			return runJava(ctx, e, javaNames)
		}}}, todo...)
	}
	if len(todo) == 0 {
		fmt.Println("FAIL -run: no scenario matches\n0 passed, 1 failed")
		return 1
	}

	var mu sync.Mutex
	passed, failed := 0, 0
	var failures []string
	report = func(name string, d time.Duration, err error, l *logger) {
		log := l.String()
		l.mu.Lock()
		note := l.note
		l.mu.Unlock()
		if note != "" {
			note = ": " + note
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			failures = append(failures, name)
			fmt.Printf("FAIL %s (%.1fs): %v\n%s", name, d.Seconds(), err, log)
		} else {
			passed++
			fmt.Printf("ok   %s (%.1fs)%s\n", name, d.Seconds(), note)
			if *verbose {
				fmt.Print(log)
			}
		}
	}
	sem := make(chan struct{}, max(*parallel, 1))
	var wg sync.WaitGroup
	for _, s := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			timeout := *timeoutFlag
			if s.name == "java" {
				timeout = 4 * *timeoutFlag
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			l := &logger{}
			start := time.Now()
			err := s.run(ctx, e, l)
			if s.name == "java" {
				// runJava reported each of its scenarios itself.
				if err != nil {
					report("java", time.Since(start), err, l)
				}
				return
			}
			if err == nil && ctx.Err() != nil {
				err = errors.New("timed out")
			}
			report(s.name, time.Since(start), err, l)
		}()
	}
	wg.Wait()
	sort.Strings(failures)
	if len(failures) > 0 {
		fmt.Printf("failed: %s\n", strings.Join(failures, " "))
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// report prints one scenario's result (set up by run, used by runJava too).
var report func(name string, d time.Duration, err error, l *logger)
