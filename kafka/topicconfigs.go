package kafka

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// Topic configs set through CreateTopics, AlterConfigs and
// IncrementalAlterConfigs: the overrides are kept as Kafka wrote them in the
// state table kafka-topic-configs (every gateway describes the same), and
// what they mean for the stored log goes to the backend as a
// bridge.TopicPolicy, which it applies. A setting the gateway cannot honour
// is refused with INVALID_CONFIG, never accepted and ignored.
const topicConfigTable = "kafka-topic-configs"

type topicConfigStore struct{ t bridge.StateTable }

func newTopicConfigStore(ctx context.Context, b bridge.Backend) (*topicConfigStore, error) {
	t, err := b.State(ctx, topicConfigTable)
	if err != nil {
		return nil, err
	}
	return &topicConfigStore{t: t}, nil
}

// overrides are a topic's set configs (full topic name).
func (s *topicConfigStore) overrides(full string) map[string]string {
	v, ok := s.t.Get(full)
	if !ok {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(v, &m) != nil {
		return nil
	}
	return m
}

// set applies overrides: the backend's policy first (what happens to the
// log), then the record every gateway describes.
func (h *Handler) setTopicConfigs(ctx context.Context, full string, overrides map[string]string) error {
	_, had := h.configs.t.Get(full)
	if len(overrides) == 0 && !had {
		return nil // a topic created without configs costs the backend nothing more
	}
	if err := h.b.Admin().SetTopicPolicy(ctx, full, policyOf(overrides)); err != nil {
		return err
	}
	if len(overrides) == 0 {
		return h.configs.t.Delete(ctx, full)
	}
	v, _ := json.Marshal(overrides)
	return h.configs.t.Put(ctx, full, v)
}

// forgetTopicConfigs drops a deleted topic's overrides.
func (h *Handler) forgetTopicConfigs(ctx context.Context, full string) {
	if _, ok := h.configs.t.Get(full); ok {
		_ = h.configs.t.Delete(ctx, full)
	}
}

const maxLong = "9223372036854775807"

// topicDefaults are the topic configs described, with the value each has
// when not set.
func (h *Handler) topicDefaults() map[string]string {
	return map[string]string{
		"cleanup.policy":                          "delete",
		"retention.ms":                            "-1",
		"retention.bytes":                         "-1",
		"delete.retention.ms":                     "86400000",
		"min.compaction.lag.ms":                   "0",
		"max.compaction.lag.ms":                   maxLong,
		"min.cleanable.dirty.ratio":               "0.5",
		"segment.bytes":                           "1073741824",
		"segment.ms":                              "604800000",
		"segment.index.bytes":                     "10485760",
		"segment.jitter.ms":                       "0",
		"index.interval.bytes":                    "4096",
		"flush.messages":                          maxLong,
		"flush.ms":                                maxLong,
		"file.delete.delay.ms":                    "60000",
		"preallocate":                             "false",
		"unclean.leader.election.enable":          "false",
		"message.timestamp.type":                  "CreateTime",
		"message.timestamp.before.max.ms":         maxLong,
		"message.timestamp.after.max.ms":          maxLong,
		"min.insync.replicas":                     "1",
		"compression.type":                        "producer",
		"max.message.bytes":                       strconv.Itoa(int(h.opts.MaxRequestSize)),
		"remote.storage.enable":                   "false",
		"local.retention.ms":                      "-2",
		"local.retention.bytes":                   "-2",
		"leader.replication.throttled.replicas":   "",
		"follower.replication.throttled.replicas": "",
	}
}

// listConfigs take APPEND and SUBTRACT.
var listConfigs = map[string]bool{
	"cleanup.policy":                          true,
	"leader.replication.throttled.replicas":   true,
	"follower.replication.throttled.replicas": true,
}

// checkTopicConfig returns why a topic config cannot be set, "" if it can.
func (h *Handler) checkTopicConfig(name string, value *string) string {
	def, known := h.topicDefaults()[name]
	if !known {
		return "unknown topic config " + name
	}
	if value == nil {
		return "config " + name + " needs a value"
	}
	v := *value
	long := func(min int64) string {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min {
			return name + " must be an integer of at least " + strconv.FormatInt(min, 10)
		}
		return ""
	}
	only := func(why string) string {
		if v != def {
			return name + " can only be " + def + ": " + why
		}
		return ""
	}
	switch name {
	// Honoured: the backend's policy (compaction, retention, tombstones).
	case "cleanup.policy":
		if len(cleanupPolicies(v)) == 0 {
			return "cleanup.policy is a list of delete and compact"
		}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "delete" && p != "compact" {
				return "cleanup.policy " + p + " is neither delete nor compact"
			}
		}
		return ""
	case "retention.ms", "retention.bytes":
		return long(-1)
	case "delete.retention.ms", "min.compaction.lag.ms":
		return long(0)
	// Tuning of Kafka's own files and cleaner, with no effect a client can
	// see: the backend stores and compacts in its own units. Accepted so
	// Streams and Connect can create their topics, and described back.
	case "max.compaction.lag.ms", "segment.ms":
		return long(1)
	case "segment.bytes":
		return long(14)
	case "segment.index.bytes":
		return long(4)
	case "segment.jitter.ms", "index.interval.bytes", "flush.messages", "flush.ms", "file.delete.delay.ms":
		return long(0)
	case "min.cleanable.dirty.ratio":
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 1 {
			return name + " must be between 0 and 1"
		}
		return ""
	case "preallocate", "unclean.leader.election.enable": // one replica: nothing to elect
		if v != "true" && v != "false" {
			return name + " must be true or false"
		}
		return ""
	case "leader.replication.throttled.replicas", "follower.replication.throttled.replicas":
		return "" // replication is Pulsar's; no Kafka replica to throttle
	// Settings with a visible effect the gateway does not have: only their
	// default, which is what it does.
	case "message.timestamp.type":
		return only("records keep their producer's timestamps")
	case "message.timestamp.before.max.ms", "message.timestamp.after.max.ms":
		return only("record timestamps are not checked")
	case "min.insync.replicas":
		return only("replication is configured in Pulsar")
	case "compression.type":
		return only("batches are stored as their producer compressed them")
	case "max.message.bytes":
		return only("the gateway's request size limit applies to every topic")
	case "remote.storage.enable", "local.retention.ms", "local.retention.bytes":
		return only("tiered storage is Pulsar's")
	}
	return "unknown topic config " + name
}

func cleanupPolicies(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// policyOf turns overrides into the backend's policy.
func policyOf(overrides map[string]string) bridge.TopicPolicy {
	p := bridge.DefaultTopicPolicy()
	get := func(name string) (int64, bool) {
		v, ok := overrides[name]
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	if v, ok := overrides["cleanup.policy"]; ok {
		ps := cleanupPolicies(v)
		p.Compact, p.Delete = slices.Contains(ps, "compact"), slices.Contains(ps, "delete")
	}
	if n, ok := get("retention.ms"); ok {
		p.RetentionTime = millis(n)
	}
	if n, ok := get("retention.bytes"); ok {
		p.RetentionBytes = n
	}
	if n, ok := get("delete.retention.ms"); ok {
		p.DeleteRetention = millis(n)
	}
	if n, ok := get("min.compaction.lag.ms"); ok {
		p.MinCompactionLag = millis(n)
	}
	return p
}

// millis is n ms as a duration, -1 for a negative n, saturating.
func millis(n int64) time.Duration {
	if n < 0 {
		return -1
	}
	if n > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(n) * time.Millisecond
}

// topicConfigEntry is one described config.
type topicConfigEntry struct {
	name, value string
	set         bool // an override, not the default
}

// describeTopic lists a topic's configs in name order.
func (h *Handler) describeTopic(full string) []topicConfigEntry {
	return h.describeEntries(h.configs.overrides(full))
}

// describeEntries lists the defaults with these overrides in name order.
func (h *Handler) describeEntries(over map[string]string) []topicConfigEntry {
	var out []topicConfigEntry
	for name, def := range h.topicDefaults() {
		e := topicConfigEntry{name: name, value: def}
		if v, ok := over[name]; ok {
			e.value, e.set = v, true
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b topicConfigEntry) int { return strings.Compare(a.name, b.name) })
	return out
}
