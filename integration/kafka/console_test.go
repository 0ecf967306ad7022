package kafka_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kafkaToolsClasspath is the jar folder integration/kafka/kraft.sh fills
// (KAFKA_HOME, else ~/.cache/pulsar-gateway/kafka-$KAFKA_VERSION).
func kafkaToolsClasspath(t *testing.T) string {
	t.Helper()
	home := os.Getenv("KAFKA_HOME")
	if home == "" {
		v := os.Getenv("KAFKA_VERSION")
		if v == "" {
			v = "4.0.0"
		}
		h, _ := os.UserHomeDir()
		home = filepath.Join(h, ".cache", "pulsar-gateway", "kafka-"+v)
	}
	lib := filepath.Join(home, "lib")
	if _, err := os.Stat(filepath.Join(lib, ".complete")); err != nil {
		t.Fatalf("Kafka jars not in %s (integration/kafka/kraft.sh classpath fetches them; scripts/test.sh runs it)", lib)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatal("no java: install a JDK (scripts/test.sh installs openjdk-17-jdk-headless)")
	}
	return filepath.Join(lib, "*")
}

// TestKafkaConsoleTools runs Apache Kafka's own command-line tools (the
// classes behind kafka-console-producer.sh, kafka-console-consumer.sh and
// kafka-consumer-groups.sh) against the gateway.
func TestKafkaConsoleTools(t *testing.T) {
	cp := kafkaToolsClasspath(t)
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		topic, group := "console"+suffix, "console-g"+suffix
		java := func(stdin string, class string, args ...string) string {
			t.Helper()
			return run(t, strings.NewReader(stdin), "java", append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1",
				"-Dlog4j2.level=warn", "-cp", cp, class}, args...)...)
		}
		java("k1:one\nk2:two\nk3:three\n", "org.apache.kafka.tools.ConsoleProducer",
			"--bootstrap-server", addr, "--topic", topic,
			"--property", "parse.key=true", "--property", "key.separator=:")
		out := java("", "org.apache.kafka.tools.consumer.ConsoleConsumer",
			"--bootstrap-server", addr, "--topic", topic, "--group", group, "--from-beginning",
			"--max-messages", "3", "--timeout-ms", "30000",
			"--property", "print.key=true", "--property", "key.separator=:")
		if got := strings.Fields(out); strings.Join(got, " ") != "k1:one k2:two k3:three" {
			t.Errorf("console consumer printed %q", out)
		}
		out = java("", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
			"--bootstrap-server", addr, "--describe", "--group", group)
		// GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
		var row []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 6 && f[0] == group && f[1] == topic {
				row = f
			}
		}
		if row == nil || row[3] != "3" || row[4] != "3" || row[5] != "0" {
			t.Errorf("kafka-consumer-groups --describe: want offset 3, end 3, lag 0 for %s; got\n%s", topic, out)
		}
	})
}
