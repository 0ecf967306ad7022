package mqtt

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
)

// slowBackend opens producers slowly, as Pulsar does (a lookup, maybe a
// topic creation, then the producer).
type slowBackend struct{ bridge.Backend }

func (b slowBackend) CreateProducer(ctx context.Context, o bridge.ProducerOptions) (bridge.Producer, error) {
	time.Sleep(200 * time.Millisecond)
	return b.Backend.CreateProducer(ctx, o)
}

// Publishes that arrive while the topic's producer opens keep their
// arrival order, whichever connection sent them.
func TestSendOrderWhileOpening(t *testing.T) {
	e, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ps := newProducers(slowBackend{e}, time.Minute)
	defer ps.Close(context.Background())
	topic := "persistent://public/default/order"
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		v := fmt.Sprint(i)
		go ps.SendAsync(context.Background(), producerOptions(topic, ""), &bridge.OutMessage{Value: []byte(v)}, func(_ bridge.SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			acked = append(acked, v)
			mu.Unlock()
			wg.Done()
		})
		time.Sleep(5 * time.Millisecond) // arrival order, each on its own goroutine like connections
	}
	wg.Wait()
	if want := seq("", 10); !slices.Equal(acked, want) {
		t.Fatalf("stored in order %v, want %v", acked, want)
	}
}
