// Package remoting is the wire codec of RocketMQ's remoting protocol, server side: the
// frames that RocketMQ 4.x and 5.x clients (Java, Go and the others in remoting mode) send to
// a name server and a broker, and the answers they expect back. It is for the gateway's
// RocketMQ handler.
//
// A frame is a 4-byte length, a 4-byte word whose high byte is the header's serialization
// (JSON or RocketMQ's binary one) and whose low 24 bits are the header's length, the header,
// then the body. The header is a Command's fixed fields, remark and ext fields; the body is
// opaque here (a message, or a JSON document the caller encodes).
//
// The package knows only the wire: no connection state, no bridge, no other protocol. Every
// malformed input yields an error wrapping ErrMalformed (or ErrFrameTooLarge); nothing here
// panics on input or allocates more than the frame limit for it.
package remoting
