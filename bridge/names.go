package bridge

import (
	"fmt"
	"strconv"
	"strings"
)

// partitionSuffix is Pulsar's separator between a partitioned topic's name
// and a partition number.
const partitionSuffix = "-partition-"

// TopicName is a parsed Pulsar topic name.
type TopicName struct {
	Persistent bool
	Tenant     string
	Namespace  string
	Local      string // the name inside the namespace, partition suffix included
}

// DefaultNamespace is where short names live unless configured otherwise.
const DefaultNamespace = "public/default"

// ParseTopic accepts Pulsar's forms: "name" (in public/default),
// "tenant/ns/name" and "persistent://tenant/ns/name" (or non-persistent://).
func ParseTopic(s string) (TopicName, error) {
	return ParseTopicIn(s, DefaultNamespace)
}

// ParseTopicIn is ParseTopic with another namespace for short names.
func ParseTopicIn(s, namespace string) (TopicName, error) {
	t := TopicName{Persistent: true}
	rest := s
	switch {
	case strings.HasPrefix(s, "persistent://"):
		rest = strings.TrimPrefix(s, "persistent://")
	case strings.HasPrefix(s, "non-persistent://"):
		t.Persistent = false
		rest = strings.TrimPrefix(s, "non-persistent://")
	case !strings.Contains(s, "/"):
		rest = namespace + "/" + s
	}
	// Cut, not SplitN: this runs for every message delivered over MQTT,
	// and SplitN allocates its slice.
	tenant, rest, ok1 := strings.Cut(rest, "/")
	ns, local, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || tenant == "" || ns == "" || local == "" {
		return TopicName{}, fmt.Errorf("%w: topic name %q: want name, tenant/namespace/name or persistent://tenant/namespace/name", ErrInvalid, s)
	}
	t.Tenant, t.Namespace, t.Local = tenant, ns, local
	if strings.ContainsAny(t.Local, "\x00") {
		return TopicName{}, fmt.Errorf("%w: topic name %q has a NUL byte", ErrInvalid, s)
	}
	return t, nil
}

// String is the full name, persistent://tenant/ns/name.
func (t TopicName) String() string {
	scheme := "persistent://"
	if !t.Persistent {
		scheme = "non-persistent://"
	}
	return scheme + t.Tenant + "/" + t.Namespace + "/" + t.Local
}

// NamespaceName is "tenant/ns".
func (t TopicName) NamespaceName() string { return t.Tenant + "/" + t.Namespace }

// Partition returns the name of partition i of this topic.
func (t TopicName) Partition(i int) TopicName {
	p := t
	p.Local = t.Local + partitionSuffix + strconv.Itoa(i)
	return p
}

// PartitionIndex splits a partition name into its topic and number; ok is
// false when the name is not a partition's.
func (t TopicName) PartitionIndex() (base TopicName, index int, ok bool) {
	i := strings.LastIndex(t.Local, partitionSuffix)
	if i < 0 {
		return t, -1, false
	}
	n, err := strconv.Atoi(t.Local[i+len(partitionSuffix):])
	if err != nil || n < 0 || strconv.Itoa(n) != t.Local[i+len(partitionSuffix):] {
		return t, -1, false
	}
	base = t
	base.Local = t.Local[:i]
	return base, n, true
}

// PartitionName is the full name of partition i of topic.
func PartitionName(topic string, i int) string {
	t, err := ParseTopic(topic)
	if err != nil {
		return topic + partitionSuffix + strconv.Itoa(i)
	}
	return t.Partition(i).String()
}
