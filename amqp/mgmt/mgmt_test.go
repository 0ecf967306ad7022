package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
	"go.uber.org/zap"

	"github.com/pulsar-gateway/pulsar-gateway/amqp"
	"github.com/pulsar-gateway/pulsar-gateway/authz"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// env is an AMQP server on the embedded backend, served on a real socket, and its
// management API on another.
type env struct {
	amqpAddr string
	api      string
	h        *Handler
}

func start(t *testing.T, opts func(*amqp.Options)) *env {
	t.Helper()
	b, err := embedded.Open(embedded.Options{InMemory: true, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	o := amqp.Options{Backend: b}
	if opts != nil {
		opts(&o)
	}
	srv, err := amqp.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); srv.HandleConn(ctx, c) }()
		}
	}()
	h := New(Options{Server: srv, AMQPAddr: ln.Addr(), SampleEvery: 100 * time.Millisecond})
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		h.Close()
		ln.Close()
		cancel()
		wg.Wait()
		srv.Close()
		b.Close()
	})
	return &env{amqpAddr: ln.Addr().String(), api: hs.URL, h: h}
}

func (e *env) dial(t *testing.T, user, pass string) *amqp091.Connection {
	t.Helper()
	c, err := amqp091.Dial("amqp://" + user + ":" + pass + "@" + e.amqpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// call makes a request and decodes its JSON answer into out (when not nil).
func (e *env) call(t *testing.T, method, path, user, pass string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, e.api+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Without AMQP logins, as RabbitMQ's default user: guest/guest from loopback only.
func TestLoginsOffTakeGuestFromLoopbackOnly(t *testing.T) {
	e := start(t, nil)
	var who struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if code := e.call(t, "GET", "/api/whoami", "guest", "guest", &who); code != 200 || who.Name != "guest" || who.Tags[0] != "administrator" {
		t.Fatalf("guest/guest: %d %+v", code, who)
	}
	for _, up := range [][2]string{{"guest", "nope"}, {"alice", "x"}, {"", ""}} {
		if code := e.call(t, "GET", "/api/overview", up[0], up[1], nil); code != 401 {
			t.Errorf("%v: %d, want 401", up, code)
		}
	}
	// From another host, guest is refused as RabbitMQ's loopback_users does.
	req := httptest.NewRequest("GET", "/api/whoami", nil)
	req.RemoteAddr = "10.1.2.3:4567"
	req.SetBasicAuth("guest", "guest")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "Basic") {
		t.Errorf("guest from 10.1.2.3: %d %q, want 401 with a Basic challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// Queue counts: messages is the backlog, unacknowledged what consumers hold, ready the
// rest; publish rates move; KEDA's regex page finds the queue.
func TestQueueCountsRatesAndKEDAPage(t *testing.T) {
	e := start(t, nil)
	c := e.dial(t, "guest", "guest")
	ch, err := c.Channel()
	must(t, err)
	must(t, ch.Confirm(false))
	_, err = ch.QueueDeclare("work", true, false, false, false, nil)
	must(t, err)
	confirms := ch.NotifyPublish(make(chan amqp091.Confirmation, 20))
	for i := range 10 {
		must(t, ch.Publish("", "work", false, false, amqp091.Publishing{Body: []byte(fmt.Sprint(i))}))
	}
	for range 10 {
		<-confirms
	}
	cons, err := c.Channel()
	must(t, err)
	must(t, cons.Qos(3, 0, false))
	d, err := cons.Consume("work", "", false, false, false, false, nil)
	must(t, err)
	for range 3 {
		<-d
	}
	type queue struct {
		Messages     int64 `json:"messages"`
		Ready        int64 `json:"messages_ready"`
		Unacked      int64 `json:"messages_unacknowledged"`
		Consumers    int   `json:"consumers"`
		MessageStats struct {
			Publish        int64 `json:"publish"`
			Deliver        int64 `json:"deliver"`
			PublishDetails struct {
				Rate float64 `json:"rate"`
			} `json:"publish_details"`
		} `json:"message_stats"`
	}
	var q queue
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code := e.call(t, "GET", "/api/queues/%2F/work", "guest", "guest", &q); code != 200 {
			t.Fatalf("queue: %d", code)
		}
		if q.Messages == 10 && q.Ready == 7 && q.Unacked == 3 && q.Consumers == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q.Messages != 10 || q.Ready != 7 || q.Unacked != 3 || q.Consumers != 1 || q.MessageStats.Publish != 10 || q.MessageStats.Deliver != 3 {
		t.Fatalf("queue: %+v, want 10 messages, 7 ready, 3 unacknowledged, 1 consumer, 10 published, 3 delivered", q)
	}
	var details struct {
		Consumers []struct {
			AckRequired bool `json:"ack_required"`
			Prefetch    int  `json:"prefetch_count"`
			Queue       struct {
				Name string `json:"name"`
			} `json:"queue"`
		} `json:"consumer_details"`
	}
	e.call(t, "GET", "/api/queues/%2F/work", "guest", "guest", &details)
	if len(details.Consumers) != 1 || !details.Consumers[0].AckRequired || details.Consumers[0].Prefetch != 3 || details.Consumers[0].Queue.Name != "work" {
		t.Errorf("consumer_details %+v, want the one consumer of work with prefetch 3, acking", details.Consumers)
	}
	// Publishing on, the rate (over the last 100ms sample) shows it.
	rate := 0.0
	for deadline := time.Now().Add(10 * time.Second); rate == 0 && time.Now().Before(deadline); {
		must(t, ch.Publish("", "work", false, false, amqp091.Publishing{Body: []byte("more")}))
		<-confirms
		time.Sleep(20 * time.Millisecond)
		e.call(t, "GET", "/api/queues/%2F/work", "guest", "guest", &q)
		rate = q.MessageStats.PublishDetails.Rate
	}
	if rate <= 0 {
		t.Errorf("publish_details.rate stayed %v while publishing", rate)
	}
	// KEDA's useRegex request, and its reading of the page.
	var page struct {
		Items     []queue `json:"items"`
		PageCount int     `json:"page_count"`
	}
	path := "/api/queues/%2F?page=1&use_regex=true&pagination=false&name=" + url.QueryEscape("^wo.k$") + "&page_size=100"
	if code := e.call(t, "GET", path, "guest", "guest", &page); code != 200 || page.PageCount != 1 || len(page.Items) != 1 {
		t.Fatalf("KEDA's page: %d %+v", code, page)
	}
	// columns keeps the fields named, dotted ones inside objects; sort orders.
	_, err = ch.QueueDeclare("a-first", true, false, false, false, nil)
	must(t, err)
	var cols []map[string]any
	e.call(t, "GET", "/api/queues?columns=name,message_stats.publish&sort=name&sort_reverse=true", "guest", "guest", &cols)
	stats, _ := cols[0]["message_stats"].(map[string]any)
	if len(cols) != 2 || cols[0]["name"] != "work" || len(cols[0]) != 2 || len(stats) != 1 || stats["publish"] == nil || len(cols[1]) != 1 {
		t.Errorf("columns and sort: %v, want work (name, message_stats.publish) then a-first (name)", cols)
	}
	if code := e.call(t, "GET", "/api/queues/%2F/nothing", "guest", "guest", nil); code != 404 {
		t.Errorf("a missing queue: %d, want 404", code)
	}
}

// With authorization on: super users are administrators; others see the vhosts and
// queues they may DESCRIBE and only their own connections, which only they and
// administrators may close.
func TestAuthzViews(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acls.yaml")
	must(t, os.WriteFile(path, []byte(`
acls:
  - {principal: "User:alice", resource: vhost, name: "/", operations: [describe]}
  - {principal: "User:alice", resource: topic, name: "a-", pattern: prefixed, operations: [all]}
`), 0o600))
	a, err := authz.New(authz.Options{File: path, SuperUsers: []string{"carol"}})
	must(t, err)
	t.Cleanup(a.Close)
	users := map[string]string{"alice": "alice-pw", "carol": "carol-pw"}
	e := start(t, func(o *amqp.Options) {
		o.Authz = a
		o.Authenticate = func(u, p string) bool { return users[u] != "" && users[u] == p }
	})
	carol := e.dial(t, "carol", "carol-pw")
	ch, err := carol.Channel()
	must(t, err)
	for _, q := range []string{"a-1", "b-1"} {
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		must(t, err)
	}
	alice := e.dial(t, "alice", "alice-pw")
	aliceClosed := alice.NotifyClose(make(chan *amqp091.Error, 1))

	names := func(user string) []string {
		var qs []struct {
			Name string `json:"name"`
		}
		if code := e.call(t, "GET", "/api/queues", user, users[user], &qs); code != 200 {
			t.Fatalf("%s: queues: %d", user, code)
		}
		var out []string
		for _, q := range qs {
			out = append(out, q.Name)
		}
		return out
	}
	if got := fmt.Sprint(names("alice")); got != "[a-1]" {
		t.Errorf("alice sees queues %s, want [a-1]", got)
	}
	if got := fmt.Sprint(names("carol")); got != "[a-1 b-1]" {
		t.Errorf("carol sees queues %s, want [a-1 b-1]", got)
	}
	var who struct {
		Tags []string `json:"tags"`
	}
	e.call(t, "GET", "/api/whoami", "alice", "alice-pw", &who)
	if fmt.Sprint(who.Tags) != "[management]" {
		t.Errorf("alice's tags %v", who.Tags)
	}
	if code := e.call(t, "GET", "/api/whoami", "alice", "wrong", nil); code != 401 {
		t.Errorf("a wrong password: %d, want 401", code)
	}
	type connection struct {
		Name string `json:"name"`
		User string `json:"user"`
	}
	var conns []connection
	e.call(t, "GET", "/api/connections", "alice", "alice-pw", &conns)
	if len(conns) != 1 || conns[0].User != "alice" {
		t.Fatalf("alice sees connections %+v, want her own", conns)
	}
	var all []connection
	e.call(t, "GET", "/api/connections", "carol", "carol-pw", &all)
	if len(all) != 2 {
		t.Fatalf("carol sees connections %+v, want both", all)
	}
	var carols string
	for _, c := range all {
		if c.User == "carol" {
			carols = c.Name
		}
	}
	if code := e.call(t, "DELETE", "/api/connections/"+url.PathEscape(carols), "alice", "alice-pw", nil); code != 404 {
		t.Errorf("alice closing carol's connection: %d, want 404", code)
	}
	if carol.IsClosed() {
		t.Fatal("carol's connection closed by alice")
	}
	if code := e.call(t, "DELETE", "/api/connections/"+url.PathEscape(conns[0].Name), "carol", "carol-pw", nil); code != 204 {
		t.Fatalf("carol closing alice's connection: %d, want 204", code)
	}
	select {
	case err := <-aliceClosed:
		if err == nil || err.Code != 320 || err.Reason != "CONNECTION_FORCED - Closed via management plugin" {
			t.Errorf("alice's connection closed with %v, want 320 CONNECTION_FORCED - Closed via management plugin", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("alice's connection is still open")
	}
}

// The snapshot reads channels while connections open and close them (run with -race).
func TestSnapshotWhileChannelsChange(t *testing.T) {
	e := start(t, nil)
	c := e.dial(t, "guest", "guest")
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			ch, err := c.Channel()
			if err != nil {
				done <- err
				return
			}
			if err := ch.Tx(); err != nil {
				done <- err
				return
			}
			ch.Close()
		}
	}()
	for range 50 {
		var chans []map[string]any
		if code := e.call(t, "GET", "/api/channels", "guest", "guest", &chans); code != 200 {
			t.Fatalf("channels: %d", code)
		}
		e.call(t, "GET", "/api/overview", "guest", "guest", nil)
	}
	close(stop)
	if err := <-done; err != nil && !errors.Is(err, amqp091.ErrClosed) {
		t.Fatal(err)
	}
}

// The aliveness test goes through the AMQP handler and leaves the queue as RabbitMQ does.
func TestAlivenessAndAlarms(t *testing.T) {
	e := start(t, nil)
	var st map[string]any
	if code := e.call(t, "GET", "/api/aliveness-test/%2F", "guest", "guest", &st); code != 200 || st["status"] != "ok" {
		t.Fatalf("aliveness-test: %d %v", code, st)
	}
	if code := e.call(t, "GET", "/api/queues/%2F/aliveness-test", "guest", "guest", nil); code != 200 {
		t.Errorf("queue aliveness-test: %d", code)
	}
	if code := e.call(t, "GET", "/api/health/checks/alarms", "guest", "guest", &st); code != 200 || st["status"] != "ok" {
		t.Fatalf("alarms: %d %v", code, st)
	}
	e.h.s.SetAlarm("memory", true)
	if code := e.call(t, "GET", "/api/health/checks/alarms", "guest", "guest", nil); code != 503 {
		t.Errorf("alarms with memory raised: %d, want 503", code)
	}
}

// Any path, query and method gets a JSON answer with a status, never a panic.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range []string{"/api/queues/%2F/q?page=1&page_size=0", "/api/queues?name=(&use_regex=true",
		"/api/connections/%zz", "/api/bindings/%2F", "/api/exchanges/v/x", "/api/vhosts/%2F", "/x", "/api/"} {
		f.Add("GET", s)
	}
	f.Add("DELETE", "/api/connections/a%20-%3E%20b")
	b, err := embedded.Open(embedded.Options{InMemory: true, Logger: zap.NewNop()})
	if err != nil {
		f.Fatal(err)
	}
	defer b.Close()
	srv, err := amqp.New(context.Background(), amqp.Options{Backend: b})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	h := New(Options{Server: srv})
	defer h.Close()
	f.Fuzz(func(t *testing.T, method, target string) {
		if method != "GET" && method != "DELETE" && method != "POST" {
			method = "GET"
		}
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		req, err := http.NewRequest(method, "http://gw"+target, nil)
		if err != nil {
			return
		}
		req.RemoteAddr = "127.0.0.1:1"
		req.SetBasicAuth("guest", "guest")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 204 && !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s %s: %d %q: not JSON", method, target, rec.Code, rec.Body.String())
		}
	})
}
