package wire

import "encoding/binary"

// Method is one method's arguments; the types are generated from the spec (methods_gen.go),
// one per class and method, e.g. *BasicPublish.
type Method interface {
	ID() (classID, methodID uint16)
	Name() string // "basic.publish"
	// Synchronous: the spec expects a reply (unless the method's no-wait is set).
	Synchronous() bool
	// HasContent: a content header and body frames follow the method.
	HasContent() bool
	// ToServer: a client may send it (the spec gives it a server chassis); a server receiving
	// any other method has a misbehaving client.
	ToServer() bool

	encode(*encoder)
	decode(*decoder)
}

// AppendMethod appends a method frame's payload: class id, method id, arguments.
func AppendMethod(b []byte, m Method) ([]byte, error) {
	e := encoder{b: b}
	return appendMethod(&e, m)
}

func appendMethod(e *encoder, m Method) ([]byte, error) {
	b := e.b
	c, id := m.ID()
	e.short(c)
	e.short(id)
	m.encode(e)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// DecodeMethod decodes a method frame's payload. Strings and tables are copied out, so the
// payload may be reused afterwards. Unknown ids are not-implemented, malformed arguments
// syntax-error; either way the error names the method.
func DecodeMethod(p []byte) (Method, error) {
	if len(p) < 4 {
		return nil, frameErr("method frame of %d bytes", len(p))
	}
	c, id := binary.BigEndian.Uint16(p), binary.BigEndian.Uint16(p[2:])
	m := newMethod(c, id)
	if m == nil {
		err := NewError(NotImplemented, "unknown method %d.%d", c, id)
		err.ClassID, err.MethodID = c, id
		return nil, err
	}
	d := decoder{b: p[4:]}
	m.decode(&d)
	if err := d.done(); err != nil {
		err = err.WithMethod(m)
		err.Text += " in " + m.Name()
		return nil, err
	}
	return m, nil
}
