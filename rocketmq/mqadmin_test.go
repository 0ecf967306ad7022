package rocketmq

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// mqadmin runs RocketMQ 5.1.4's mqadmin (MQAdminStartup, from the jars
// integration/rocketmq/rocketmq.sh keeps; scripts/test.sh fetches them) against a name server.
func mqadmin(t *testing.T, namesrv string, args ...string) string {
	t.Helper()
	out, err := exec.Command("../integration/rocketmq/rocketmq.sh", "classpath").Output()
	if err != nil {
		t.Fatalf("rocketmq.sh classpath: %v (scripts/test.sh fetches RocketMQ's jars)", err)
	}
	dir := t.TempDir()
	logback := filepath.Join(dir, "logback.xml")
	os.WriteFile(logback, []byte(`<configuration><root level="OFF"/></configuration>`), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "java", "-Duser.home="+dir, "-Drocketmq.home.dir="+dir,
		"-Drmq.logback.configurationFile="+logback, "-cp", strings.TrimSpace(string(out)),
		"org.apache.rocketmq.tools.command.MQAdminStartup")
	cmd.Args = append(append(cmd.Args, args...), "-n", namesrv)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mqadmin %v: %v\n%s", args, err, res)
	}
	return string(res)
}

// TestMQAdmin: mqadmin's topic and group commands against the gateway: clusterList shows
// the gateway as the one broker, updateTopic creates a topic whose queues topicRoute,
// topicList and topicStatus show, and with a consumer online consumerConnection lists it
// with its subscription and consumerProgress the group's offsets.
func TestMQAdmin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		topic, group := unique("admin"), unique("ag")
		if out := mqadmin(t, addr, "clusterList"); !strings.Contains(out, "DefaultCluster") || !strings.Contains(out, brokerName) ||
			!strings.Contains(out, addr) || strings.Contains(out, "Exception") {
			t.Errorf("clusterList:\n%s", out)
		}
		if out := mqadmin(t, addr, "updateTopic", "-t", topic, "-c", "DefaultCluster", "-r", "3", "-w", "3"); !strings.Contains(out, "success") {
			t.Fatalf("updateTopic:\n%s", out)
		}
		if out := mqadmin(t, addr, "topicRoute", "-t", topic); !strings.Contains(out, `"readQueueNums":3`) {
			t.Errorf("topicRoute:\n%s", out)
		}
		if out := mqadmin(t, addr, "topicList"); !strings.Contains(out, topic) {
			t.Errorf("topicList lacks %s:\n%s", topic, out)
		}
		sendN(t, addr, topic, 0, 6)
		out := mqadmin(t, addr, "topicStatus", "-t", topic)
		if strings.Count(out, brokerName) != 3 || strings.Contains(out, "Exception") {
			t.Errorf("topicStatus:\n%s", out)
		}
		r, _ := pushConsumer(t, addr, group, unique("c"), topic, "T || U", nil)
		r.waitFor(t, 6, 60*time.Second)
		out = mqadmin(t, addr, "consumerConnection", "-g", group)
		if !strings.Contains(out, "GO") || !strings.Contains(out, "T || U") || !strings.Contains(out, "CLUSTERING") {
			t.Errorf("consumerConnection:\n%s", out)
		}
		// The Go client commits every 5 s.
		deadline := time.Now().Add(30 * time.Second)
		for {
			out = mqadmin(t, addr, "consumerProgress", "-g", group)
			if strings.Count(out, topic) == 3 && strings.Contains(out, "Consume Diff Total: 0") || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if strings.Count(out, topic) != 3 || !strings.Contains(out, "Consume Diff Total: 0") {
			t.Errorf("consumerProgress:\n%s", out)
		}
	})
}
