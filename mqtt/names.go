package mqtt

import (
	"errors"
	"regexp"
	"strings"
)

// Topic names. An MQTT topic a/b/c is the Pulsar (and Kafka) topic a.b.c in
// the gateway's namespace. Kafka allows only [a-zA-Z0-9._-] and 249 bytes,
// so every other byte, and a literal '.', is escaped as '_' and two
// lowercase hex digits ("a.b/c d" -> "a_2eb.c_20d"). '_' stays itself,
// because Kafka users write it often, unless the next two output bytes are
// lowercase hex; then it is "_5f". Decoding reads '_' + two lowercase hex
// digits as a byte and any other '_' as itself, so Decode(Encode(t)) == t
// for every topic (names_test.go fuzzes it). A name of only dots, which
// Kafka forbids, spells its separators "_2f" instead.

// maxKafkaName is Kafka's limit on a topic name.
const maxKafkaName = 249

// ErrTopicTooLong: the mapped name would not be a legal Kafka topic.
var ErrTopicTooLong = errors.New("mqtt: mapped topic name longer than 249 bytes")

const hexDigits = "0123456789abcdef"

func kafkaLegal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isLowerHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// EncodeTopic maps an MQTT topic (or a filter's literal levels) to a Kafka
// legal local name.
func EncodeTopic(topic string) (string, error) {
	if strings.Trim(topic, "/") == "" && topic != "" && len(topic) <= 2 {
		return strings.Repeat("_2f", len(topic)), nil
	}
	s := encodeBytes(topic, true)
	if len(s) > maxKafkaName {
		return "", ErrTopicTooLong
	}
	return s, nil
}

// encodeBytes escapes s; with slash, '/' becomes the level separator '.',
// otherwise it is escaped like any other byte (for subscription names).
// It works right to left so each '_' sees the output that follows it.
func encodeBytes(s string, slash bool) string {
	out := make([]byte, 0, len(s)+8)
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		switch {
		case c == '/' && slash:
			out = append(out, '.')
		case c == '_':
			n := len(out) // out is reversed: the next output bytes are at the end
			if n >= 2 && isLowerHex(out[n-1]) && isLowerHex(out[n-2]) {
				out = append(out, 'f', '5', '_')
			} else {
				out = append(out, '_')
			}
		case kafkaLegal(c):
			out = append(out, c)
		default:
			out = append(out, hexDigits[c&0xf], hexDigits[c>>4], '_')
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// DecodeTopic is EncodeTopic's inverse. Any name decodes; names not made by
// EncodeTopic (a Kafka topic "a_2e") may decode to a topic that encodes
// differently.
func DecodeTopic(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			out = append(out, '/')
		case c == '_' && i+2 < len(name) && isLowerHex(name[i+1]) && isLowerHex(name[i+2]):
			out = append(out, unhex(name[i+1])<<4|unhex(name[i+2]))
			i += 2
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// FilterPattern turns a filter with wildcards into a regular expression over
// full topic names in namespace ("tenant/ns"). '+' is one level: any run of
// bytes but '.', since a literal '.' is always escaped. '#' is this level and
// every one below, including none ("a/#" matches "a"). A wildcard first
// level does not match a topic starting with '$' [MQTT-4.7.2-1]. The
// pattern ends with '$': Pulsar's client matches it unanchored.
func FilterPattern(namespace, filter string) string {
	var b strings.Builder
	b.WriteString(regexp.QuoteMeta("persistent://" + namespace + "/"))
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		switch l {
		case "#":
			if i == 0 {
				b.WriteString(notDollar + `(\..*)?$`)
			} else {
				b.WriteString(`(\..*)?$`)
			}
			return b.String()
		case "+":
			if i > 0 {
				b.WriteString(`\.[^.]*`)
			} else {
				b.WriteString(notDollar)
			}
		default:
			if i > 0 {
				b.WriteString(`\.`)
			}
			b.WriteString(regexp.QuoteMeta(encodeBytes(l, true)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// notDollar is a level that does not start with '$', which is encoded
// "_24" (a '_' before "24" is "_5f"): RE2 has no negative look-ahead.
const notDollar = `(?:[^._][^.]*|_(?:[^.2][^.]*|2(?:[^.4][^.]*)?)?)?`

// HasWildcards reports whether a filter needs a pattern subscription.
func HasWildcards(filter string) bool { return strings.ContainsAny(filter, "+#") }

// MatchFilter reports whether an MQTT topic matches a filter (for retained
// messages, which are not in the backend's topic list).
func MatchFilter(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false // [MQTT-4.7.2-1]
	}
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) || f != "+" && f != tl[i] {
			return false
		}
	}
	return len(fl) == len(tl)
}
