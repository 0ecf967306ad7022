package wire_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
)

// A server's first steps: check the client's protocol header, answering a mismatch with
// its own header before closing; then read frames, assemble each channel's commands, and
// close with the code of any *wire.Error.
func Example() {
	in := strings.NewReader("AMQP\x00\x00\x09\x00") // 0-9-0: not ours
	var out bytes.Buffer
	r, w := wire.NewReader(in), wire.NewWriter(&out)
	if err := r.ReadProtocolHeader(); errors.Is(err, wire.ErrProtocolHeader) {
		w.WriteProtocolHeader()
		w.Flush()
		fmt.Printf("answered %q and closed\n", out.String())
	}

	// A content header with no method before it.
	a := wire.Assembler{MaxBody: 128 << 20}
	_, err := a.Add(wire.Frame{Type: wire.FrameHeader, Channel: 1, Payload: []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}})
	var we *wire.Error
	if errors.As(err, &we) {
		fmt.Println(we.Code, we.ConnectionLevel)
	}
	// Output:
	// answered "AMQP\x00\x00\t\x01" and closed
	// 505 true
}
