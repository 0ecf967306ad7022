package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

type indexLine struct {
	File      string          `json:"file"`
	Serialize int             `json:"serialize"`
	HeaderLen int             `json:"headerLen"`
	BodyLen   int             `json:"bodyLen"`
	Header    json.RawMessage `json:"header"`
	RMQHeader *rmqHeader      `json:"rmqHeader"`
}

func testdata(t testing.TB) []indexLine {
	f, err := os.Open(filepath.Join("..", "testdata", "index.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []indexLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l indexLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		t.Fatal("no frames in ../testdata/index.jsonl")
	}
	return lines
}

// The captured files are whole frames whose index lines describe them: what the codec tests of
// the handler rely on.
func TestTestdataFramesMatchIndex(t *testing.T) {
	for _, l := range testdata(t) {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", l.File))
		if err != nil {
			t.Fatal(err)
		}
		frame, err := readFrame(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", l.File, err)
		}
		if !bytes.Equal(frame, raw) {
			t.Fatalf("%s: %d bytes on file, frame of %d", l.File, len(raw), len(frame))
		}
		e, err := (&recorder{dir: t.TempDir()}).record(1, "x", "c2s", frame)
		if err != nil {
			t.Fatal(err)
		}
		if e.Serialize != l.Serialize || e.HeaderLen != l.HeaderLen || e.BodyLen != l.BodyLen {
			t.Errorf("%s: decoded serialize %d header %d body %d, index says %d %d %d",
				l.File, e.Serialize, e.HeaderLen, e.BodyLen, l.Serialize, l.HeaderLen, l.BodyLen)
		}
		switch l.Serialize {
		case 0:
			// The index was re-serialized (keys sorted); the file has the bytes as sent.
			var got, want map[string]any
			if err := json.Unmarshal(e.Header, &got); err != nil {
				t.Errorf("%s: JSON header: %v", l.File, err)
			}
			if err := json.Unmarshal(l.Header, &want); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: JSON header %s, index says %s", l.File, e.Header, l.Header)
			}
		case 1:
			if e.RMQHeader == nil || !reflect.DeepEqual(e.RMQHeader, l.RMQHeader) {
				t.Errorf("%s: ROCKETMQ header %+v, index says %+v", l.File, e.RMQHeader, l.RMQHeader)
			}
		}
	}
}

func TestRewriteBodyFixesLength(t *testing.T) {
	hdr := []byte(`{"code":0}`)
	body := []byte(`{"brokerAddrs":{"0":"127.0.0.1:10911"}}`)
	frame := append([]byte{0, 0, 0, byte(4 + len(hdr) + len(body)), 0, 0, 0, byte(len(hdr))}, append(hdr, body...)...)
	out, ok := rewriteBody(frame, `"127.0.0.1:10911"`, `"127.0.0.1:4"`)
	if !ok {
		t.Fatal("not rewritten")
	}
	got, err := readFrame(bytes.NewReader(out))
	if err != nil || !bytes.Equal(got, out) {
		t.Fatalf("rewritten frame does not parse whole: %v", err)
	}
	if !bytes.HasSuffix(out, []byte(`{"brokerAddrs":{"0":"127.0.0.1:4"}}`)) {
		t.Fatalf("body %q", out[8+len(hdr):])
	}
}

func FuzzDecodeRMQ(f *testing.F) {
	for _, l := range testdata(f) {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", l.File))
		if err == nil && l.Serialize == 1 && len(raw) >= 8+l.HeaderLen {
			f.Add(raw[8 : 8+l.HeaderLen])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeRMQ(b) // must not panic
	})
}

func FuzzFrame(f *testing.F) {
	for _, l := range testdata(f) {
		if raw, err := os.ReadFile(filepath.Join("..", "testdata", l.File)); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		frame, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := (&recorder{dir: t.TempDir()}).record(1, "x", "s2c", frame); err != nil {
			t.Fatal(err)
		}
		rewriteBody(frame, `"127.0.0.1:10911"`, `"127.0.0.1:1"`)
	})
}
