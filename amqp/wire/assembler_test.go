package wire

import (
	"bytes"
	"errors"
	"testing"
)

func frames(t *testing.T, write func(w *Writer)) []Frame {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	write(w)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := NewReader(&buf)
	var fs []Frame
	for buf.Len() > 0 || r.br.Buffered() > 0 {
		f, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		f.Payload = bytes.Clone(f.Payload)
		fs = append(fs, f)
	}
	return fs
}

func TestAssembler(t *testing.T) {
	body := bytes.Repeat([]byte("z"), 9000)
	fs := frames(t, func(w *Writer) {
		w.WriteMethod(1, &BasicQos{PrefetchCount: 10})
		w.WriteMethod(1, &BasicPublish{RoutingKey: "a"})
		w.WriteContent(1, &Properties{Type: "t"}, body)
		w.WriteMethod(1, &BasicPublish{RoutingKey: "empty"})
		w.WriteContent(1, nil, nil)
	})
	a := Assembler{MaxBody: 1 << 20}
	var cmds []*Command
	for _, f := range fs {
		c, err := a.Add(f)
		if err != nil {
			t.Fatal(err)
		}
		if c != nil {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) != 3 || a.Pending() {
		t.Fatalf("%d commands", len(cmds))
	}
	if p := cmds[1]; p.Method.(*BasicPublish).RoutingKey != "a" || p.Header.Type != "t" || !bytes.Equal(p.Body, body) {
		t.Errorf("publish: %+v", p.Header)
	}
	if p := cmds[2]; p.Method.(*BasicPublish).RoutingKey != "empty" || len(p.Body) != 0 {
		t.Errorf("empty publish: %+v", p)
	}

	method, header, bodyF := fs[1], fs[2], fs[3]
	small := Frame{Type: FrameHeader, Payload: []byte("\x00\x3c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00")}
	for name, tc := range map[string]struct {
		in   []Frame
		code uint16
	}{
		"body first":            {[]Frame{bodyF}, UnexpectedFrame},
		"header first":          {[]Frame{header}, UnexpectedFrame},
		"method during content": {[]Frame{method, method}, UnexpectedFrame},
		"two headers":           {[]Frame{method, small, small}, UnexpectedFrame},
		"heartbeat":             {[]Frame{{Type: FrameHeartbeat}}, UnexpectedFrame},
		"too large":             {[]Frame{method, {Type: FrameHeader, Payload: header.Payload}}, PreconditionFailed},
		"body past size":        {[]Frame{method, small, {Type: FrameBody, Payload: []byte("abc")}}, UnexpectedFrame},
	} {
		a := Assembler{MaxBody: 5000}
		var err error
		for _, f := range tc.in {
			if _, err = a.Add(f); err != nil {
				break
			}
		}
		var we *Error
		if !errors.As(err, &we) || we.Code != tc.code {
			t.Errorf("%s: got %v, want %d", name, err, tc.code)
		}
		if a.Pending() {
			t.Errorf("%s: not reset after an error", name)
		}
	}
}
