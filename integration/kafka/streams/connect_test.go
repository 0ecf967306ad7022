package streams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConnectDistributedSurvivesKill runs a Kafka Connect worker in
// distributed mode with a FileStreamSource (file -> topic) and a
// FileStreamSink (topic -> file) created through its REST API, SIGKILLs the
// worker once both have committed their offsets, appends to the source file
// and restarts the worker. Its config, offsets and status live only in
// Kafka topics, so the connectors must come back without being created
// again, and every line must reach the sink file exactly once: a lost source
// offset re-reads the file, a lost sink offset re-writes the topic.
func TestConnectDistributedSurvivesKill(t *testing.T) {
	eachTarget(t, func(t *testing.T, bootstrap, failover, suffix string) {
		dir := t.TempDir()
		srcFile, sinkFile := filepath.Join(dir, "source.txt"), filepath.Join(dir, "sink.txt")
		if err := os.WriteFile(srcFile, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		topic, offsets, status := "connect-data"+suffix, "connect-offsets"+suffix, "connect-status"+suffix
		sourceName, sinkName := "file-source"+suffix, "file-sink"+suffix
		createTopic(t, bootstrap, topic, 1)

		port := freePort(t)
		props := filepath.Join(dir, "worker.properties")
		writeFile(t, props, strings.Join([]string{
			"bootstrap.servers=" + bootstrap,
			"group.id=connect" + suffix,
			"config.storage.topic=connect-configs" + suffix,
			"offset.storage.topic=" + offsets,
			"status.storage.topic=" + status,
			"config.storage.replication.factor=1",
			"offset.storage.replication.factor=1",
			"status.storage.replication.factor=1",
			"offset.storage.partitions=2",
			"status.storage.partitions=1",
			"key.converter=org.apache.kafka.connect.storage.StringConverter",
			"value.converter=org.apache.kafka.connect.storage.StringConverter",
			"listeners=http://127.0.0.1:" + fmt.Sprint(port),
			"rest.advertised.host.name=127.0.0.1",
			"rest.advertised.port=" + fmt.Sprint(port),
			// Offsets committed often, so that the test need not wait for them.
			"offset.flush.interval.ms=500",
			// The killed worker and its sink consumer leave their groups after
			// 6 s, not 10 s and 45 s; its connectors are not held for it.
			"session.timeout.ms=6000",
			"heartbeat.interval.ms=1000",
			"consumer.session.timeout.ms=6000",
			"consumer.heartbeat.interval.ms=1000",
			"scheduled.rebalance.max.delay.ms=1000",
			// connect-file is on the classpath: no plugin.path to scan.
			"plugin.discovery=only_scan",
		}, "\n")+"\n")
		api := fmt.Sprintf("http://127.0.0.1:%d", port)
		source := map[string]string{
			"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
			"tasks.max":       "1", "file": srcFile, "topic": topic,
		}
		sink := map[string]string{
			"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
			"tasks.max":       "1", "file": sinkFile, "topics": topic,
		}
		adm := kadm.NewClient(newClient(t, bootstrap))

		start := time.Now()
		worker := startWorker(t, "connect-1", props)
		for name, config := range map[string]map[string]string{sourceName: source, sinkName: sink} {
			// The worker answers 409 until it has joined its group, and
			// nothing before its REST server is up.
			waitFor(t, worker, 60*time.Second, "connector "+name+" created", func() bool {
				code, _ := rest(t, http.MethodPost, api+"/connectors", map[string]any{"name": name, "config": config})
				return code == http.StatusCreated
			})
		}
		waitRunning(t, worker, api, sourceName, sinkName)
		t.Logf("first worker: connectors running after %v", time.Since(start).Round(time.Millisecond))

		appendLines(t, srcFile, 0, 100)
		waitFor(t, worker, 60*time.Second, "100 lines in the sink file", func() bool { return len(readLines(t, sinkFile)) >= 100 })
		// Kill only once both connectors committed what they did: Connect
		// delivers at least once, so what a kill loses before a commit is
		// repeated by design, and that is not what this test is about.
		size := fileSize(t, srcFile)
		waitFor(t, worker, 30*time.Second, "the source's file position committed", func() bool {
			return sourcePosition(t, bootstrap, offsets, sourceName) == size
		})
		waitFor(t, worker, 30*time.Second, "the sink's topic offset committed", func() bool {
			return groupCaughtUp(t, adm, "connect-"+sinkName, topic)
		})
		statusBefore := endOffsets(t, adm, status)[0]
		worker.kill()

		appendLines(t, srcFile, 100, 200)
		restart := time.Now()
		if failover != bootstrap {
			writeFile(t, props, strings.Replace(readFile(t, props), "bootstrap.servers="+bootstrap, "bootstrap.servers="+failover, 1))
		}
		worker = startWorker(t, "connect-2", props)
		var names []string
		waitFor(t, worker, 60*time.Second, "the restarted worker's connector list", func() bool {
			code, body := rest(t, http.MethodGet, api+"/connectors", nil)
			return code == http.StatusOK && json.Unmarshal(body, &names) == nil && len(names) > 0
		})
		slices.Sort(names)
		if !slices.Equal(names, []string{sinkName, sourceName}) {
			t.Fatalf("after the restart the worker knows connectors %v, want %s and %s from the config topic", names, sinkName, sourceName)
		}
		waitRunning(t, worker, api, sourceName, sinkName)
		waitFor(t, worker, 60*time.Second, "200 lines in the sink file", func() bool { return len(readLines(t, sinkFile)) >= 200 })
		t.Logf("second worker: all lines in the sink file %v after the restart", time.Since(restart).Round(time.Millisecond))
		// A source that lost its offset re-reads the file from the start: the
		// repeats come before the new lines, so they are in by now; a second
		// more catches a late one.
		time.Sleep(time.Second)
		got := readLines(t, sinkFile)
		var want []string
		for i := range 200 {
			want = append(want, line(i))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("sink file has %d lines, want the 200 source lines once each in order; first difference: %s", len(got), firstDiff(got, want))
		}
		if after := endOffsets(t, adm, status)[0]; after < statusBefore {
			t.Fatalf("status topic end went from %d to %d across the restart: the status records were lost", statusBefore, after)
		}
	})
}

// workerDead is what a Connect worker logs when it gives up; its JVM then
// takes another minute to exit.
var workerDead = regexp.MustCompile(`Uncaught exception in herder work thread|Failed to start Connect`)

func startWorker(t *testing.T, name, props string) *javaProc {
	p := startJava(t, name, "org.apache.kafka.connect.cli.ConnectDistributed", props)
	p.fatal = workerDead
	return p
}

// rest calls the worker's REST API; a refused connection is code 0.
func rest(t *testing.T, method, url string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitRunning waits until each connector and its task report RUNNING; a
// FAILED one ends the test with its trace.
func waitRunning(t *testing.T, worker *javaProc, api string, names ...string) {
	t.Helper()
	for _, name := range names {
		waitFor(t, worker, 60*time.Second, name+" RUNNING", func() bool {
			code, body := rest(t, http.MethodGet, api+"/connectors/"+name+"/status", nil)
			if code != http.StatusOK {
				return false
			}
			var st struct {
				Connector struct{ State, Trace string }
				Tasks     []struct{ State, Trace string }
			}
			if err := json.Unmarshal(body, &st); err != nil {
				t.Fatalf("status of %s: %v: %s", name, err, body)
			}
			if st.Connector.State == "FAILED" {
				t.Fatalf("connector %s FAILED: %s", name, st.Connector.Trace)
			}
			for _, task := range st.Tasks {
				if task.State == "FAILED" {
					t.Fatalf("task of %s FAILED: %s", name, task.Trace)
				}
			}
			return st.Connector.State == "RUNNING" && len(st.Tasks) == 1 && st.Tasks[0].State == "RUNNING"
		})
	}
}

// sourcePosition is the file position the FileStreamSource last committed
// to the worker's offsets topic (-1 for none): {"position": n} under the key
// [connector, {"filename": ...}].
func sourcePosition(t *testing.T, bootstrap, topic, connector string) int64 {
	t.Helper()
	adm := kadm.NewClient(newClient(t, bootstrap))
	ends := endOffsets(t, adm, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pos := int64(-1)
	read := map[int32]int64{}
	caughtUp := func() bool {
		for p, end := range ends {
			if read[p] < end {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(10 * time.Second)
	for !caughtUp() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			read[r.Partition] = r.Offset + 1
			if !strings.Contains(string(r.Key), `"`+connector+`"`) {
				return
			}
			var v struct{ Position *int64 }
			if json.Unmarshal(r.Value, &v) == nil && v.Position != nil {
				pos = *v.Position
			}
		})
	}
	return pos
}

func line(i int) string { return fmt.Sprintf("line %05d of the source file", i) }

func appendLines(t *testing.T, file string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(line(i) + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// readLines is the complete lines of file (none when it does not exist yet).
func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

func fileSize(t *testing.T, file string) int64 {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func writeFile(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("line %d is %q, want %q", i+1, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra line %d %q", len(want)+1, got[len(want)])
	}
	return fmt.Sprintf("missing line %d %q", len(got)+1, want[len(got)])
}

func readFile(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
