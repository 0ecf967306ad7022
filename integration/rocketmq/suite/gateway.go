package main

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

// rocketmqGatewayArgs turn the gateway's RocketMQ handler on (config rocketmq.addr).
var rocketmqGatewayArgs = []string{"--rocketmq-enabled=true", "--rocketmq-addr", "127.0.0.1:0"}

// startGateway runs the gateway binary with RocketMQ, Kafka, MQTT and AMQP on free ports of
// 127.0.0.1 on backend, and returns their addresses (from its `listening` log lines) and how
// to stop it. extra flags come last, so they override these.
func startGateway(bin, backend string, extra []string, prefix string) (*env, func(), error) {
	dir, err := os.MkdirTemp("", "rocketmq-suite-gateway")
	if err != nil {
		return nil, nil, err
	}
	args := []string{"--log-format", "json", "--backend", backend}
	args = append(args, rocketmqGatewayArgs...)
	args = append(args, "--kafka-addr", "127.0.0.1:0",
		"--mqtt-enabled=true", "--mqtt-addr", "127.0.0.1:0",
		"--amqp-enabled=true", "--amqp-addr", "127.0.0.1:0",
		"--http-enabled=false", "--schema-registry-enabled=false")
	e := &env{prefix: prefix, gateway: true}
	switch backend {
	case "embedded":
		args = append(args, "--data-dir", filepath.Join(dir, "data"))
	case "pulsar":
		e.pulsarURL, e.pulsarAdmin = os.Getenv("PULSAR_URL"), os.Getenv("PULSAR_ADMIN_URL")
		if e.pulsarURL == "" || e.pulsarAdmin == "" {
			os.RemoveAll(dir)
			return nil, nil, fmt.Errorf("-backend pulsar needs PULSAR_URL and PULSAR_ADMIN_URL")
		}
		args = append(args, "--pulsar-url", e.pulsarURL, "--pulsar-admin-url", e.pulsarAdmin)
	default:
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("unknown backend %q", backend)
	}
	cmd := exec.Command(bin, append(args, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
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
	exited := make(chan struct{})
	go func() { <-logDone; cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	addrs := map[string]string{}
	protocols := []string{"kafka", "mqtt", "amqp"}
	if len(rocketmqGatewayArgs) > 0 {
		protocols = append(protocols, "rocketmq")
	}
	for _, want := range protocols {
		for addrs[want] == "" {
			select {
			case l := <-ch:
				addrs[l.protocol] = l.addr
			case <-exited:
				os.RemoveAll(dir)
				return nil, nil, fmt.Errorf("the gateway exited (%v) before it served %s: %s", cmd.ProcessState, want, strings.Join(early, " | "))
			case <-time.After(60 * time.Second):
				stop()
				return nil, nil, fmt.Errorf("the gateway did not report a %s listener within 60 s (got %v)", want, addrs)
			}
		}
	}
	e.namesrv = []string{addrs["rocketmq"]}
	e.kafka, e.mqtt, e.amqp = addrs["kafka"], addrs["mqtt"], addrs["amqp"]
	fmt.Printf("suite: gateway %s on %s: %v\n", bin, backend, addrs)
	return e, stop, nil
}
