package kafka

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Kafka topic "orders" is the Pulsar partitioned topic
// persistent://<namespace>/orders; its partition p is Pulsar's
// orders-partition-p. A non-partitioned Pulsar topic shows as a one-
// partition Kafka topic.

// validTopic is Kafka's own rule for topic names.
func validTopic(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 249 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	// A Kafka name that looks like a Pulsar partition would be ambiguous.
	return !strings.Contains(name, "-partition-")
}

// topicInfo is what the gateway needs of a topic: how many Kafka
// partitions it has and how they are named in Pulsar.
type topicInfo struct {
	full        string
	partitioned bool
	partitions  int
}

// partition is the Pulsar name of Kafka partition p.
func (t topicInfo) partition(p int32) string {
	if !t.partitioned {
		return t.full
	}
	return bridge.PartitionName(t.full, int(p))
}

// topicCache remembers topic descriptions briefly: Produce and Fetch look
// them up on every request, and a partition count changes rarely.
type topicCache struct {
	admin bridge.Admin
	ns    string

	mu sync.Mutex
	m  map[string]cachedTopic
}

type cachedTopic struct {
	info topicInfo
	at   time.Time
}

const topicCacheTTL = 2 * time.Second

func newTopicCache(a bridge.Admin, ns string) *topicCache {
	return &topicCache{admin: a, ns: ns, m: map[string]cachedTopic{}}
}

func (tc *topicCache) fullName(name string) string { return "persistent://" + tc.ns + "/" + name }

// get describes a topic; ok is false when it does not exist.
func (tc *topicCache) get(ctx context.Context, name string) (topicInfo, bool, error) {
	tc.mu.Lock()
	c, hit := tc.m[name]
	tc.mu.Unlock()
	if hit && time.Since(c.at) < topicCacheTTL {
		return c.info, true, nil
	}
	ti, err := tc.admin.Topic(ctx, tc.fullName(name))
	if errors.Is(err, bridge.ErrTopicNotFound) {
		tc.forget(name)
		return topicInfo{}, false, nil
	}
	if err != nil {
		return topicInfo{}, false, err
	}
	info := topicInfo{full: ti.Name, partitioned: ti.Partitions > 0, partitions: max(ti.Partitions, 1)}
	tc.mu.Lock()
	tc.m[name] = cachedTopic{info: info, at: time.Now()}
	tc.mu.Unlock()
	return info, true, nil
}

// create makes a partitioned topic; an existing one is not an error here.
func (tc *topicCache) create(ctx context.Context, name string, partitions int) (topicInfo, error) {
	err := tc.admin.CreateTopic(ctx, tc.fullName(name), partitions)
	if err != nil && !errors.Is(err, bridge.ErrTopicExists) {
		return topicInfo{}, err
	}
	tc.forget(name)
	info, _, err := tc.get(ctx, name)
	return info, err
}

func (tc *topicCache) forget(name string) {
	tc.mu.Lock()
	delete(tc.m, name)
	tc.mu.Unlock()
}

// gatewayOwn says whether a topic is the gateway's own bookkeeping (state
// tables, group logs, the index probe), which no Kafka client should see.
func gatewayOwn(name string) bool {
	return strings.HasPrefix(name, "__pgw-") || strings.HasPrefix(name, "__pulsar-gateway-")
}

// list returns the Kafka names of the namespace's topics.
func (tc *topicCache) list(ctx context.Context) ([]string, error) {
	ts, err := tc.admin.ListTopics(ctx, tc.ns)
	if err != nil {
		return nil, err
	}
	prefix := "persistent://" + tc.ns + "/"
	var names []string
	now := time.Now()
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, t := range ts {
		name, ok := strings.CutPrefix(t.Name, prefix)
		// An internal name is never a Pulsar topic (internal.go).
		if !ok || strings.Contains(name, "-partition-") || !validTopic(name) || isInternal(name) || gatewayOwn(name) {
			continue
		}
		names = append(names, name)
		// The listing says each topic's partitions: a Metadata of every
		// topic then asks nothing per topic (one call each took 1,178
		// topics past kcat's 5 s).
		tc.m[name] = cachedTopic{info: topicInfo{full: t.Name, partitioned: t.Partitions > 0,
			partitions: max(t.Partitions, 1)}, at: now}
	}
	return names, nil
}
