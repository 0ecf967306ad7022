package mqtt

import (
	"regexp"
	"strings"
	"testing"
)

func TestEncodeTopic(t *testing.T) {
	for _, c := range []struct{ mqtt, kafka string }{
		{"a/b/c", "a.b.c"},
		{"site/room1/temp", "site.room1.temp"},
		{"a.b", "a_2eb"},
		{"my_topic", "my_topic"},
		{"a_ff", "a_5fff"},
		{"a b", "a_20b"},
		{"/a", ".a"},
		{"/", "_2f"},
		{"//", "_2f_2f"},
		{"$SYS/x", "_24SYS.x"},
		{"é", "_c3_a9"},
	} {
		got, err := EncodeTopic(c.mqtt)
		if err != nil || got != c.kafka {
			t.Errorf("EncodeTopic(%q) = %q, %v; want %q", c.mqtt, got, err, c.kafka)
		}
		if back := DecodeTopic(got); back != c.mqtt {
			t.Errorf("DecodeTopic(%q) = %q, want %q", got, back, c.mqtt)
		}
	}
	if _, err := EncodeTopic(strings.Repeat("é", 50)); err != ErrTopicTooLong {
		t.Errorf("a 300-byte name: err %v, want ErrTopicTooLong", err)
	}
}

var kafkaName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func FuzzTopicMapping(f *testing.F) {
	for _, s := range []string{"a/b", "a_2e", "_", "__5f", "a_/b", "x_ab/_cd", "/", "//", "a.b", "+/#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, topic string) {
		enc, err := EncodeTopic(topic)
		if err != nil {
			return
		}
		if topic != "" && (!kafkaName.MatchString(enc) || enc == "." || enc == "..") {
			t.Fatalf("EncodeTopic(%q) = %q: not a legal Kafka name", topic, enc)
		}
		if dec := DecodeTopic(enc); dec != topic {
			t.Fatalf("DecodeTopic(EncodeTopic(%q)) = %q via %q", topic, dec, enc)
		}
		// A filter of the topic's own levels, one of them '+', matches it
		// (unless '+' is the first level of a '$' topic).
		levels := strings.Split(topic, "/")
		if len(enc) > 2 && strings.Trim(topic, "/") != "" && !(len(levels) < 2 && strings.HasPrefix(topic, "$")) {
			levels[len(levels)/2] = "+"
			re := regexp.MustCompile("^(?:" + FilterPattern("public/default", strings.Join(levels, "/")) + ")$")
			if !re.MatchString("persistent://public/default/" + enc) {
				t.Fatalf("pattern of %q does not match %q", strings.Join(levels, "/"), enc)
			}
		}
	})
}

func TestFilterPattern(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		match         bool
	}{
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/d", false},
		{"a/+/c", "a/b.x/c", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"#", "x/y", true},
		{"+", "x", true},
		{"+", "x/y", false},
		{"a/b", "a/b", true},
		{"+/+", "a/b/c", false},
		{"+/+", "$TopicA/B", false},
		{"#", "$SYS/x", false},
		{"#", "$", false},
		{"+", "_24x", true},
		{"+", "_2", true},
		{"+", "_", true},
		{"+/x", "/x", true},
		{"#", "_2x/y", true},
		{"$TopicA/#", "$TopicA/B", true},
		{"$TopicA/+", "$TopicA/B", true},
		{"a/+", "a/$B", true},
	} {
		enc, _ := EncodeTopic(c.topic)
		// Unanchored, as Pulsar's client matches it.
		re := regexp.MustCompile(FilterPattern("public/default", c.filter))
		if got := re.MatchString("persistent://public/default/" + enc); got != c.match {
			t.Errorf("pattern %q on %q = %v, want %v", c.filter, c.topic, got, c.match)
		}
		if got := MatchFilter(c.filter, c.topic); got != c.match {
			t.Errorf("MatchFilter(%q, %q) = %v, want %v", c.filter, c.topic, got, c.match)
		}
	}
}
