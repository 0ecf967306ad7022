package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// TestRunServesRocketMQ: with rocketmq.enabled the binary serves RocketMQ on its address,
// which a rocketmq-client-go producer uses as its name server: it sends to a new topic
// (auto-created) and is acknowledged, at the advertised (bound) address.
func TestRunServesRocketMQ(t *testing.T) {
	rlog.SetLogLevel("fatal")
	logs, _ := startRun(t, append(portZeroArgs(t), "--rocketmq-enabled", "--rocketmq-addr", "127.0.0.1:0"))
	addrs := listeningAddrs(t, logs.String, 6)
	addr := addrs["rocketmq"]
	if addr == "" {
		t.Fatalf("no rocketmq listener in %v", addrs)
	}
	for _, l := range parseLogs(t, strings.NewReader(logs.String())) {
		if l.str("msg") == "listening" && l.str("protocol") == "rocketmq" && l.str("advertised") != addr {
			t.Errorf("rocketmq advertised %q, want the bound %q", l.str("advertised"), addr)
		}
	}
	p, err := rocketmq.NewProducer(producer.WithNameServer([]string{addr}), producer.WithRetry(1),
		producer.WithSendMsgTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown()
	res, err := p.SendSync(context.Background(), primitive.NewMessage("gateway-rocketmq", []byte("hi")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != primitive.SendOK {
		t.Fatalf("send result %v", res)
	}
}
