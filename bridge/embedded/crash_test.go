package embedded_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

const crashChildEnv = "EMBEDDED_CRASH_CHILD_DIR"

// TestKill9LosesNothingAcknowledged runs a producer in a child process,
// kills it with SIGKILL mid-stream, and checks that every message whose
// callback reported it durable is in the store with its index and value.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir) // never returns
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9LosesNothingAcknowledged$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]string{}
	stateAcked := map[string]string{}
	var topicsAcked []string
	lines := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for lines.Scan() && len(acked) < 20000 && time.Now().Before(deadline) {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 3 && f[0] == "msg":
			i, _ := strconv.ParseInt(f[1], 10, 64)
			acked[i] = f[2]
		case len(f) == 3 && f[0] == "state":
			stateAcked[f[1]] = f[2]
		case len(f) == 2 && f[0] == "topic":
			topicsAcked = append(topicsAcked, f[1])
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) < 1000 {
		t.Fatalf("child acknowledged only %d messages before the kill", len(acked))
	}

	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer b.Close()
	ctx := context.Background()
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: bridge.PartitionName("crash", 0), Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	rng, err := b.Admin().IndexRange(ctx, bridge.PartitionName("crash", 0))
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]string{}
	for i := rng.First; i < rng.Next; i++ {
		m, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("read %d of %d: %v", i, rng.Next, err)
		}
		stored[m.Index] = string(m.Value)
	}
	for i, v := range acked {
		if stored[i] != v {
			t.Fatalf("acknowledged message %d (%q) lost or changed after kill -9: found %q", i, v, stored[i])
		}
	}
	st, err := b.State(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range stateAcked {
		if got, ok := st.Get(k); !ok || string(got) != v {
			t.Fatalf("acknowledged state %s=%s lost after kill -9: got %q", k, v, got)
		}
	}
	// Topics are written without a sync under the backend's lock and synced
	// by their creator after it: every creation that returned is there.
	for _, tn := range topicsAcked {
		if _, err := b.Admin().IndexRange(ctx, tn); err != nil {
			t.Fatalf("topic %s, created before kill -9, is gone: %v", tn, err)
		}
	}
	// The child's subscriber saw and acknowledged messages before they were
	// durable (subscriptions deliver once written): its cursor must still
	// be within what the store kept, or it would skip what comes next.
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"crash"}, Subscription: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName("crash", 0)})
	if err != nil {
		t.Fatal(err)
	}
	after, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("after")})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	redelivered := 0
	for {
		m, err := c.Receive(rctx)
		if err != nil {
			t.Fatalf("the subscriber never got the message sent after the restart (index %d; %d redelivered before it): %v", after.Index, redelivered, err)
		}
		c.Ack(m.ID)
		if string(m.Value) == "after" {
			break
		}
		redelivered++
	}
	t.Logf("%d acknowledged messages, %d state writes and %d topics survived; %d stored; the subscriber got %d again, then the new one", len(acked), len(stateAcked), len(topicsAcked), len(stored), redelivered)
}

// crashChild produces until killed, printing each durable message.
func crashChild(dir string) {
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := b.Admin().CreateTopic(ctx, "crash", 1); err != nil {
		os.Exit(1)
	}
	st, _ := b.State(ctx, "crash")
	p, _ := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName("crash", 0)})
	// A subscriber acknowledging all it gets, as an MQTT or AMQP one would.
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"crash"}, Subscription: "sub"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		for m := range c.Chan() {
			c.Ack(m.ID)
		}
	}()
	w := bufio.NewWriter(os.Stdout)
	printed := make(chan string, 10000)
	go func() {
		for line := range printed {
			w.WriteString(line)
			if len(printed) == 0 {
				w.Flush()
			}
		}
	}()
	for i := 0; ; i++ {
		v := "v" + strconv.Itoa(i)
		p.SendAsync(ctx, &bridge.OutMessage{Value: []byte(v)}, func(r bridge.SendResult, err error) {
			if err == nil {
				printed <- fmt.Sprintf("msg %d %s\n", r.Index, v)
			}
		})
		if i%500 == 0 {
			// Concurrent Puts: those queued together are stored in one
			// batch (group commit), and each is acknowledged only after it.
			k := "k" + strconv.Itoa(i)
			go func() {
				if st.Put(ctx, k, []byte(v)) == nil {
					printed <- fmt.Sprintf("state %s %s\n", k, v)
				}
			}()
		}
		if i%250 == 0 { // devices making topics of their own meanwhile
			tn := "device-" + strconv.Itoa(i)
			go func() {
				if b.Admin().CreateTopic(ctx, tn, 0) == nil {
					printed <- fmt.Sprintf("topic %s\n", tn)
				}
			}()
		}
	}
}

// TestCorruptStoreIsAnError: a damaged store file gives a clear error at
// open naming the store, never a panic or a silently empty store.
func TestCorruptStoreIsAnError(t *testing.T) {
	dir := t.TempDir()
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b.Admin().CreateTopic(ctx, "t", 1)
	p, _ := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "t"})
	if _, err := p.Send(ctx, &bridge.OutMessage{Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	manifests, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	if len(manifests) == 0 {
		t.Fatal("no MANIFEST file in the store")
	}
	for _, m := range manifests {
		if err := os.WriteFile(m, []byte("this is not a manifest"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err = embedded.Open(embedded.Options{Dir: dir})
	if err == nil {
		t.Fatal("opening a store with a corrupt MANIFEST succeeded")
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error does not name the store directory: %v", err)
	}
}

// TestUnwritableDirIsAnError names the directory at open.
func TestUnwritableDirIsAnError(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere: use a path under a regular file instead.
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		_, err := embedded.Open(embedded.Options{Dir: filepath.Join(f, "data")})
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Fatalf("want an error naming %s, got %v", f, err)
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	_, err := embedded.Open(embedded.Options{Dir: filepath.Join(dir, "data")})
	if err == nil || !strings.Contains(err.Error(), "data") {
		t.Fatalf("want an error naming the directory, got %v", err)
	}
}

// TestSecondProcessIsRefused: two gateways on one data directory would
// corrupt it; the second gets an error.
func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	b, err := embedded.Open(embedded.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b2, err := embedded.Open(embedded.Options{Dir: dir}); err == nil {
		b2.Close()
		t.Fatal("a second open of the same data directory succeeded")
	}
}
