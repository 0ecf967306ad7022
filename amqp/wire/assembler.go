package wire

// Command is a method with its content, if it has any.
type Command struct {
	Method Method
	Header Header // for a method with content: its properties and body size
	Body   []byte // owned by the command, not aliased to a frame
}

// Assembler turns one channel's frames into commands: a method, or a method with content
// followed by a header frame and body frames until the announced size, with nothing else of
// that channel in between. A session keeps one per channel. Out-of-order frames are
// unexpected-frame (505), as in RabbitMQ's command assembler.
type Assembler struct {
	// MaxBody bounds the body size a header may announce; bigger is precondition-failed, as
	// RabbitMQ answers a message over its max_message_size. The body is allocated only after
	// this check.
	MaxBody uint64

	cmd     Command
	pending bool // a content method waits for its header or body
	header  bool // its header has arrived
}

// Add feeds a method, header or body frame of the channel. It returns the command once it is
// complete, else nil. After an error the assembler is reset.
func (a *Assembler) Add(f Frame) (*Command, error) {
	switch f.Type {
	case FrameMethod:
		if a.pending {
			return nil, a.fail(NewError(UnexpectedFrame, "expected content for %s, got a method frame", a.cmd.Method.Name()))
		}
		m, err := DecodeMethod(f.Payload)
		if err != nil {
			return nil, err
		}
		if !m.HasContent() {
			return &Command{Method: m}, nil
		}
		a.cmd, a.pending, a.header = Command{Method: m}, true, false
		return nil, nil
	case FrameHeader:
		if !a.pending || a.header {
			return nil, a.fail(NewError(UnexpectedFrame, "content header frame on channel %d without a content method", f.Channel))
		}
		if err := DecodeHeader(f.Payload, &a.cmd.Header); err != nil {
			return nil, a.fail(err)
		}
		if n := a.cmd.Header.BodySize; n > a.MaxBody {
			err := NewError(PreconditionFailed, "message size %d is larger than max size %d", n, a.MaxBody)
			return nil, a.fail(err.WithMethod(a.cmd.Method))
		}
		a.header = true
		a.cmd.Body = make([]byte, 0, a.cmd.Header.BodySize)
	case FrameBody:
		if !a.header {
			return nil, a.fail(NewError(UnexpectedFrame, "content body frame on channel %d without a content header", f.Channel))
		}
		if left := a.cmd.Header.BodySize - uint64(len(a.cmd.Body)); uint64(len(f.Payload)) > left {
			return nil, a.fail(NewError(UnexpectedFrame, "content body frame of %d bytes, %d left to read", len(f.Payload), left))
		}
		a.cmd.Body = append(a.cmd.Body, f.Payload...)
	default:
		return nil, a.fail(NewError(UnexpectedFrame, "frame type %d on channel %d", f.Type, f.Channel))
	}
	if uint64(len(a.cmd.Body)) < a.cmd.Header.BodySize {
		return nil, nil
	}
	cmd := a.cmd
	a.reset()
	return &cmd, nil
}

// Pending reports whether a command is half assembled.
func (a *Assembler) Pending() bool { return a.pending }

func (a *Assembler) reset() { a.cmd, a.pending, a.header = Command{}, false, false }

func (a *Assembler) fail(err error) error {
	a.reset()
	return err
}
