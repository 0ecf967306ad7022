package wire

import (
	"errors"
	"fmt"
)

// Error is an AMQP exception: a reply code and text to send in channel.close or
// connection.close, the method that caused it, and its scope.
type Error struct {
	Code     uint16
	Text     string
	ClassID  uint16
	MethodID uint16
	// ConnectionLevel: a hard error, closing the connection rather than the channel.
	ConnectionLevel bool
}

func (e *Error) Error() string {
	scope := "channel"
	if e.ConnectionLevel {
		scope = "connection"
	}
	if e.ClassID != 0 || e.MethodID != 0 {
		return fmt.Sprintf("amqp %s error %d: %s (method %d.%d)", scope, e.Code, e.Text, e.ClassID, e.MethodID)
	}
	return fmt.Sprintf("amqp %s error %d: %s", scope, e.Code, e.Text)
}

// NewError returns an Error whose scope follows the spec's class of the code. The text is
// prefixed with the code's name, as RabbitMQ does ("NOT_FOUND - no queue 'q'").
func NewError(code uint16, format string, args ...any) *Error {
	text := fmt.Sprintf(format, args...)
	if n := CodeName(code); n != "" {
		text = n + " - " + text
	}
	return &Error{Code: code, Text: text, ConnectionLevel: IsHardError(code)}
}

// WithMethod returns a copy of e naming the method that caused it.
func (e *Error) WithMethod(m Method) *Error {
	c := *e
	c.ClassID, c.MethodID = m.ID()
	return &c
}

// ReplyText is Text cut to fit a shortstr, as close methods carry it.
func (e *Error) ReplyText() string {
	if len(e.Text) > 255 {
		return e.Text[:255]
	}
	return e.Text
}

// ErrProtocolHeader: the peer did not open with a protocol header we speak. The server
// answers with its own header (ProtocolHeader) and closes, without any close method.
var ErrProtocolHeader = errors.New("amqp: unsupported protocol header")

func frameErr(format string, args ...any) *Error  { return NewError(FrameError, format, args...) }
func syntaxErr(format string, args ...any) *Error { return NewError(SyntaxError, format, args...) }
