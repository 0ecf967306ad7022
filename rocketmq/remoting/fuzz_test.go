package remoting

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// frameSeeds are frames of both serializations, without their 4-byte length.
func frameSeeds(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []SerializeType{JSON, RocketMQ} {
		for range 4 {
			b, err := AppendFrame(nil, randomCommand(rng, s))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b[4:])
		}
	}
	f.Add(frame(JSON, []byte(`{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":435}`), nil)[4:])
}

// mustBeMalformed fails unless err is nil or wraps ErrMalformed.
func mustBeMalformed(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("not ErrMalformed: %v", err)
	}
}

// stable checks that a decoded command encodes to bytes that decode to an equal command,
// which encodes to the same bytes: decoding may normalise (key order, white space), but
// loses nothing a second decoding would see.
func stable(t *testing.T, c *Command) {
	t.Helper()
	b1, err := AppendFrame(nil, c)
	if err != nil {
		if c.Serialize == JSON || !strings.Contains(err.Error(), "does not fit") {
			t.Fatalf("re-encoding a decoded command: %v", err)
		}
		return
	}
	c2, err := DecodeFrame(b1[4:])
	if err != nil {
		t.Fatalf("decoding our own encoding %q: %v", b1, err)
	}
	if !equalCommands(c, c2) {
		t.Fatalf("%+v became %+v", c, c2)
	}
	if b2, _ := AppendFrame(nil, c2); !bytes.Equal(b1, b2) {
		t.Fatalf("unstable: %q then %q", b1, b2)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	frameSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeFrame(b)
		mustBeMalformed(t, err)
		if err == nil {
			stable(t, c)
		}
	})
}

// FuzzReader reads a stream of frames under a small limit: every error is the stream's end,
// a refused size or a malformed frame, and what is read matches DecodeFrame's reading.
func FuzzReader(f *testing.F) {
	frameSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		stream := binary32(len(b))
		stream = append(stream, b...)
		stream = append(stream, b...) // a second length-less copy: garbage after a frame
		r := NewReader(bytes.NewReader(stream))
		r.SetMaxFrameSize(4 << 10)
		for range 3 {
			c, err := r.ReadCommand()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, ErrFrameTooLarge) {
					mustBeMalformed(t, err)
				}
				return
			}
			stable(t, c)
		}
	})
}

func binary32(n int) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func FuzzDecodeBinaryHeader(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		b, _ := appendBinaryHeader(nil, randomCommand(rng, RocketMQ))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		c := &Command{Serialize: RocketMQ}
		err := decodeBinaryHeader(h, c)
		mustBeMalformed(t, err)
		if err == nil {
			stable(t, c)
		}
	})
}

// FuzzDecodeJSONHeader checks the hand-written decoder against encoding/json: what it
// accepts is valid JSON that encoding/json reads to the same values.
func FuzzDecodeJSONHeader(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 8 {
		f.Add(appendJSONHeader(nil, randomCommand(rng, JSON)))
	}
	f.Add([]byte(`{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"a":"\u00e9\ud83d\ude00","n":1.5e3,"t":true,"z":null}}`))
	f.Add([]byte(`{"x":[{"y":[1,"\"",null]}],"code":null,"language":9,"remark":"\ud800\u0041"}`))
	f.Fuzz(func(t *testing.T, h []byte) {
		c := &Command{}
		err := decodeJSONHeader(h, c)
		mustBeMalformed(t, err)
		want, oracleErr := oracleJSON(h)
		if err != nil {
			if oracleErr == nil && !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("refused %q, which encoding/json reads as %+v: %v", h, want, err)
			}
			return
		}
		if !json.Valid(h) {
			t.Fatalf("accepted invalid JSON %q", h)
		}
		if oracleErr != nil {
			t.Fatalf("accepted %q as %+v; encoding/json: %v", h, c, oracleErr)
		}
		if !equalCommands(c, want) {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", h, c, want)
		}
		stable(t, c)
	})
}

// oracleJSON reads a JSON header with encoding/json, by the rules decodeJSONHeader
// documents: exact property names, the last of repeated ones, null as zero, ext field
// numbers and booleans as their text, language by name (unknown: Other) or code.
func oracleJSON(h []byte) (*Command, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(h, &top); err != nil {
		return nil, err
	}
	c := &Command{}
	for k, dst := range map[string]*int32{"code": &c.Code, "version": &c.Version, "opaque": &c.Opaque, "flag": &c.Flag} {
		if raw, ok := top[k]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := top["remark"]; ok {
		if err := json.Unmarshal(raw, &c.Remark); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["language"]; ok {
		var v any
		json.Unmarshal(raw, &v)
		switch v := v.(type) {
		case nil:
		case string:
			if l, ok := languageByName(v); ok {
				c.Language = l
			} else {
				c.Language = Other
			}
		default:
			n, err := strconv.ParseUint(string(raw), 10, 8)
			if err != nil {
				return nil, err
			}
			c.Language = Language(n)
		}
	}
	if raw, ok := top["extFields"]; ok {
		var ext map[string]json.RawMessage
		if err := json.Unmarshal(raw, &ext); err != nil {
			return nil, err
		}
		for k, v := range ext {
			var s string
			switch v[0] {
			case 'n':
				continue
			case '"':
				json.Unmarshal(v, &s)
			case '{', '[':
				return nil, errors.New("ext field value is not a scalar")
			default:
				s = string(v)
			}
			if c.ExtFields == nil {
				c.ExtFields = map[string]string{}
			}
			c.ExtFields[k] = s
		}
	}
	if maps.Equal(c.ExtFields, map[string]string{}) {
		c.ExtFields = nil
	}
	return c, nil
}
