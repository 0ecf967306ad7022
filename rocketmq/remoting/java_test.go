package remoting_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// serve answers every request on a listener with handle, and returns its address and the
// requests read so far.
func serve(t *testing.T, handle func(*remoting.Command) *remoting.Command) (string, func() []*remoting.Command) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var seen []*remoting.Command
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r, w := remoting.NewReader(conn), remoting.NewWriter(conn)
				for {
					req, err := r.ReadCommand()
					if err != nil {
						if err != io.EOF && !errors.Is(err, net.ErrClosed) {
							t.Errorf("reading a request: %v", err)
						}
						return
					}
					mu.Lock()
					seen = append(seen, req)
					mu.Unlock()
					if req.IsOneway() {
						continue
					}
					if err := w.WriteCommand(handle(req)); err != nil {
						t.Errorf("writing a response: %v", err)
						return
					}
					if w.Flush() != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), func() []*remoting.Command {
		mu.Lock()
		defer mu.Unlock()
		return append([]*remoting.Command(nil), seen...)
	}
}

// javaClient compiles testdata/java/RouteLookup.java against RocketMQ's Java client 5.1.4
// (testdata/java/pom.xml; scripts/test.sh fetches it into ~/.m2) and returns the classpath
// to run it with.
func javaClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s: scripts/test.sh installs a JDK and maven", tool)
		}
	}
	dir := t.TempDir()
	cpFile := filepath.Join(dir, "classpath")
	mvn := exec.Command("mvn", "-B", "-q", "-f", "testdata/java/pom.xml", "dependency:build-classpath", "-Dmdep.outputFile="+cpFile)
	if out, err := mvn.CombinedOutput(); err != nil {
		t.Fatalf("resolving rocketmq-client 5.1.4: %v\n%s", err, out)
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	classes := filepath.Join(dir, "classes")
	if out, err := exec.Command("javac", "-cp", string(cp), "-d", classes, "testdata/java/RouteLookup.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	return string(cp) + string(os.PathListSeparator) + classes
}

// routeBody is a topic route as a Java name server writes it: one broker, three queues.
const routeBody = `{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"gw","cluster":"DefaultCluster"}],` +
	`"filterServerTable":{},"queueDatas":[{"brokerName":"gw","perm":6,"readQueueNums":3,"topicSysFlag":0,"writeQueueNums":3}]}`

// RocketMQ's Java client 5.1.4, in each of its header serializations, looks routes up at a
// listener speaking this codec: its requests decode, and TOPIC_NOT_EXIST, another error with
// a remark, and a route reach it as they would from a Java name server.
func TestJavaClientRouteLookup(t *testing.T) {
	cp := javaClient(t)
	for _, serialize := range []remoting.SerializeType{remoting.JSON, remoting.RocketMQ} {
		t.Run(serialize.String(), func(t *testing.T) {
			addr, requests := serve(t, func(req *remoting.Command) *remoting.Command {
				if req.Code != remoting.ReqGetRouteInfoByTopic {
					return req.NewResponse(remoting.ResRequestCodeNotSupported, "not a name server request")
				}
				switch topic := req.ExtFields["topic"]; topic {
				case "Other":
					return req.NewResponse(remoting.ResSystemError, "the gateway's own words")
				case "Routed":
					res := req.NewResponse(remoting.ResSuccess, "")
					res.Body = []byte(routeBody)
					return res
				default:
					return req.NewResponse(remoting.ResTopicNotExist, "No topic route info in name server for the topic: "+topic)
				}
			})
			home := t.TempDir() // the client's logs go under its user.home
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "java", "-Duser.home="+home, "-Drocketmq.serialize.type="+serialize.String(),
				"-cp", cp, "RouteLookup", addr, "TopicTest", "Other", "Routed")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("java client: %v\n%s", err, out)
			}
			want := "error TopicTest 17 No topic route info in name server for the topic: TopicTest\n" +
				"error Other 1 the gateway's own words\n" +
				"queues Routed gw/0 gw/1 gw/2\n"
			if string(out) != want {
				t.Fatalf("java client printed\n%s\nwant\n%s", out, want)
			}
			var found bool
			for _, req := range requests() {
				t.Logf("%v (version %d) %q", req, req.Version, req.ExtFields)
				if req.Serialize != serialize || req.Language != remoting.Java || req.IsResponse() {
					t.Errorf("request %v: serialization %v language %v, want %v from JAVA", req, req.Serialize, req.Language, serialize)
				}
				if req.Code == remoting.ReqGetRouteInfoByTopic && req.ExtFields["topic"] == "TopicTest" {
					found = true
				}
			}
			if !found {
				t.Fatalf("no GET_ROUTEINFO_BY_TOPIC for TopicTest among %v", requests())
			}
		})
	}
}
