package embedded

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// slowSyncFS is a disk whose every sync takes delay.
type slowSyncFS struct {
	vfs.FS
	delay time.Duration
}

func (fs slowSyncFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, cat)
	return slowSyncFile{f, fs.delay}, err
}

func (fs slowSyncFS) ReuseForWrite(old, new string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, new, cat)
	return slowSyncFile{f, fs.delay}, err
}

type slowSyncFile struct {
	vfs.File
	delay time.Duration
}

func (f slowSyncFile) Sync() error {
	time.Sleep(f.delay)
	return f.File.Sync()
}

func (f slowSyncFile) SyncData() error {
	time.Sleep(f.delay)
	return f.File.SyncData()
}

func (f slowSyncFile) SyncTo(length int64) (bool, error) {
	time.Sleep(f.delay)
	return f.File.SyncTo(length)
}

// TestSubscribersDoNotWaitForTheSync: on a disk whose syncs take 300 ms, a
// subscriber gets a message long before its producer is acknowledged, while
// a reader (Kafka's fetch) still sees it only once it is durable.
func TestSubscribersDoNotWaitForTheSync(t *testing.T) {
	const delay = 300 * time.Millisecond
	b, err := Open(Options{InMemory: true, fs: slowSyncFS{vfs.NewMem(), delay}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Admin().CreateTopic(ctx, "early", 0); err != nil {
		t.Fatal(err)
	}
	c, err := b.Subscribe(ctx, bridge.SubscribeOptions{Topics: []string{"early"}, Subscription: "s"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: "early", Start: bridge.StartEarliest()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: "early"})
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64 // when the producer was acknowledged, ns
	sent := time.Now()
	p.SendAsync(ctx, &bridge.OutMessage{Value: []byte("m")}, func(_ bridge.SendResult, err error) {
		if err != nil {
			t.Error(err)
		}
		acked.Store(time.Now().UnixNano())
	})
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := time.Since(sent)
	if acked.Load() != 0 || got > delay/2 {
		t.Fatalf("the subscriber got %q after %s, with the producer acknowledged: %v; want it before the %s sync", m.Value, got, acked.Load() != 0, delay)
	}
	if err := c.Ack(m.ID); err != nil {
		t.Fatal(err)
	}
	rm, err := r.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if read := time.Since(sent); read < delay {
		t.Fatalf("the reader got %q after %s, before its %s sync", rm.Value, read, delay)
	}
}
