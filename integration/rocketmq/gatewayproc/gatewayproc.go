// Package gatewayproc starts the gateway binary for the RocketMQ suite and bench: the named
// protocols on free ports of 127.0.0.1, on the embedded backend (a temporary data folder) or on
// Pulsar (PULSAR_URL, PULSAR_ADMIN_URL), their addresses read from its `listening` log lines.
package gatewayproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RocketMQArgs turn the gateway's RocketMQ handler on (config rocketmq.addr).
var RocketMQArgs = []string{"--rocketmq-enabled=true", "--rocketmq-addr", "127.0.0.1:0"}

// Gateway is a running gateway process.
type Gateway struct {
	Addrs  map[string]string // protocol -> host:port
	cmd    *exec.Cmd
	dir    string
	exited chan struct{}
}

// Start runs bin serving protocols ("rocketmq", "kafka", "mqtt", "amqp") on backend; extra
// flags come last, so they override these. It fails if the process exits, or does not report
// every listener within 60 s.
func Start(bin, backend string, protocols, extra []string) (*Gateway, error) {
	dir, err := os.MkdirTemp("", "rocketmq-gateway")
	if err != nil {
		return nil, err
	}
	args := []string{"--log-format", "json", "--backend", backend, "--http-enabled=false", "--schema-registry-enabled=false"}
	serves := map[string]bool{}
	for _, p := range protocols {
		serves[p] = true
	}
	if serves["rocketmq"] {
		args = append(args, RocketMQArgs...)
	}
	if serves["kafka"] {
		args = append(args, "--kafka-addr", "127.0.0.1:0")
	} else {
		args = append(args, "--kafka-enabled=false")
	}
	for _, p := range []string{"mqtt", "amqp"} {
		if serves[p] {
			args = append(args, "--"+p+"-enabled=true", "--"+p+"-addr", "127.0.0.1:0")
		} else {
			args = append(args, "--"+p+"-enabled=false")
		}
	}
	switch backend {
	case "embedded":
		args = append(args, "--data-dir", filepath.Join(dir, "data"))
	case "pulsar":
		u, a := os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
		if u == "" || a == "" {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("backend pulsar needs PULSAR_URL and PULSAR_ADMIN_URL")
		}
		args = append(args, "--pulsar-url", u, "--pulsar-admin-url", a)
	default:
		os.RemoveAll(dir)
		return nil, fmt.Errorf("unknown backend %q", backend)
	}
	g := &Gateway{Addrs: map[string]string{}, cmd: exec.Command(bin, append(args, extra...)...), dir: dir, exited: make(chan struct{})}
	stderr, err := g.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := g.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	type listening struct{ protocol, addr string }
	ch := make(chan listening, 8)
	var early []string // what it said that is not a JSON log line (flag errors), for the failure
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, Protocol, Addr, Level string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				if len(early) < 20 {
					early = append(early, sc.Text())
				}
				continue
			}
			if line.Msg == "listening" {
				ch <- listening{line.Protocol, line.Addr}
			}
			if line.Level != "" && line.Level != "info" && line.Level != "debug" {
				fmt.Fprintf(os.Stderr, "gateway: %s\n", sc.Bytes())
			}
		}
	}()
	go func() { <-logDone; g.cmd.Wait(); close(g.exited) }()
	for _, want := range protocols {
		for g.Addrs[want] == "" {
			select {
			case l := <-ch:
				g.Addrs[l.protocol] = l.addr
			case <-g.exited:
				os.RemoveAll(dir)
				return nil, fmt.Errorf("the gateway exited (%v) before it served %s: %s", g.cmd.ProcessState, want, strings.Join(early, " | "))
			case <-time.After(60 * time.Second):
				g.Stop()
				return nil, fmt.Errorf("the gateway did not report a %s listener within 60 s (got %v)", want, g.Addrs)
			}
		}
	}
	return g, nil
}

// Stop ends the gateway (SIGINT, then SIGKILL after 15 s) and removes its data folder.
func (g *Gateway) Stop() {
	g.cmd.Process.Signal(os.Interrupt)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-g.exited
	}
	os.RemoveAll(g.dir)
}
