package wire

import (
	"time"
)

// Property flags of basic's content header, in the spec's field order from bit 15 down.
// Bit 0 would announce a further flags word; basic has 14 properties and never needs one.
const (
	FlagContentType     uint16 = 0x8000
	FlagContentEncoding uint16 = 0x4000
	FlagHeaders         uint16 = 0x2000
	FlagDeliveryMode    uint16 = 0x1000
	FlagPriority        uint16 = 0x0800
	FlagCorrelationID   uint16 = 0x0400
	FlagReplyTo         uint16 = 0x0200
	FlagExpiration      uint16 = 0x0100
	FlagMessageID       uint16 = 0x0080
	FlagTimestamp       uint16 = 0x0040
	FlagType            uint16 = 0x0020
	FlagUserID          uint16 = 0x0010
	FlagAppID           uint16 = 0x0008
	FlagReserved        uint16 = 0x0004 // cluster-id in 0-9, unused since

	flagContinuation uint16 = 0x0001
	flagsKnown              = 0xfffc
)

// Properties are basic's content properties.
type Properties struct {
	// Flags says which properties are present. Decoding sets it exactly; encoding writes a
	// property if its flag is set or its value is not zero, so a set flag keeps an explicit
	// zero (priority 0, empty content-type) across a round trip.
	Flags           uint16
	ContentType     string
	ContentEncoding string
	Headers         Table
	DeliveryMode    uint8 // 1 transient, 2 persistent
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string // milliseconds as a decimal string (RabbitMQ's per-message TTL)
	MessageID       string
	Timestamp       time.Time // seconds
	Type            string
	UserID          string
	AppID           string
	Reserved        string
}

// present is Flags plus the flags of every non-zero property.
func (p *Properties) present() uint16 {
	f := p.Flags &^ flagContinuation
	set := func(flag uint16, nonzero bool) {
		if nonzero {
			f |= flag
		}
	}
	set(FlagContentType, p.ContentType != "")
	set(FlagContentEncoding, p.ContentEncoding != "")
	set(FlagHeaders, p.Headers != nil)
	set(FlagDeliveryMode, p.DeliveryMode != 0)
	set(FlagPriority, p.Priority != 0)
	set(FlagCorrelationID, p.CorrelationID != "")
	set(FlagReplyTo, p.ReplyTo != "")
	set(FlagExpiration, p.Expiration != "")
	set(FlagMessageID, p.MessageID != "")
	set(FlagTimestamp, !p.Timestamp.IsZero())
	set(FlagType, p.Type != "")
	set(FlagUserID, p.UserID != "")
	set(FlagAppID, p.AppID != "")
	set(FlagReserved, p.Reserved != "")
	return f
}

func (p *Properties) encode(e *encoder) {
	f := p.present()
	e.short(f)
	if f&FlagContentType != 0 {
		e.shortstr(p.ContentType)
	}
	if f&FlagContentEncoding != 0 {
		e.shortstr(p.ContentEncoding)
	}
	if f&FlagHeaders != 0 {
		e.table(p.Headers)
	}
	if f&FlagDeliveryMode != 0 {
		e.octet(p.DeliveryMode)
	}
	if f&FlagPriority != 0 {
		e.octet(p.Priority)
	}
	if f&FlagCorrelationID != 0 {
		e.shortstr(p.CorrelationID)
	}
	if f&FlagReplyTo != 0 {
		e.shortstr(p.ReplyTo)
	}
	if f&FlagExpiration != 0 {
		e.shortstr(p.Expiration)
	}
	if f&FlagMessageID != 0 {
		e.shortstr(p.MessageID)
	}
	if f&FlagTimestamp != 0 {
		e.timestamp(p.Timestamp)
	}
	if f&FlagType != 0 {
		e.shortstr(p.Type)
	}
	if f&FlagUserID != 0 {
		e.shortstr(p.UserID)
	}
	if f&FlagAppID != 0 {
		e.shortstr(p.AppID)
	}
	if f&FlagReserved != 0 {
		e.shortstr(p.Reserved)
	}
}

func (p *Properties) decode(d *decoder) {
	f := d.short()
	// Further flag words may follow, but basic has no properties for them to announce.
	for w := f; w&flagContinuation != 0 && d.err == nil; {
		if w = d.short(); w&^flagContinuation != 0 && d.err == nil {
			d.err = syntaxErr("content header flags for properties basic does not have")
		}
	}
	f &^= flagContinuation
	if f&^flagsKnown != 0 && d.err == nil {
		d.err = syntaxErr("content header flags %#04x name no basic property", f)
	}
	*p = Properties{Flags: f}
	if f&FlagContentType != 0 {
		p.ContentType = d.shortstr()
	}
	if f&FlagContentEncoding != 0 {
		p.ContentEncoding = d.shortstr()
	}
	if f&FlagHeaders != 0 {
		p.Headers = d.table()
	}
	if f&FlagDeliveryMode != 0 {
		p.DeliveryMode = d.octet()
	}
	if f&FlagPriority != 0 {
		p.Priority = d.octet()
	}
	if f&FlagCorrelationID != 0 {
		p.CorrelationID = d.shortstr()
	}
	if f&FlagReplyTo != 0 {
		p.ReplyTo = d.shortstr()
	}
	if f&FlagExpiration != 0 {
		p.Expiration = d.shortstr()
	}
	if f&FlagMessageID != 0 {
		p.MessageID = d.shortstr()
	}
	if f&FlagTimestamp != 0 {
		p.Timestamp = d.timestamp()
	}
	if f&FlagType != 0 {
		p.Type = d.shortstr()
	}
	if f&FlagUserID != 0 {
		p.UserID = d.shortstr()
	}
	if f&FlagAppID != 0 {
		p.AppID = d.shortstr()
	}
	if f&FlagReserved != 0 {
		p.Reserved = d.shortstr()
	}
}

// Header is a content header frame's payload.
type Header struct {
	ClassID  uint16 // always ClassBasic: the only class with content
	Weight   uint16 // always 0
	BodySize uint64
	Properties
}

// AppendHeader appends h as a content header payload.
func AppendHeader(b []byte, h *Header) ([]byte, error) {
	e := encoder{b: b}
	return appendHeader(&e, h)
}

func appendHeader(e *encoder, h *Header) ([]byte, error) {
	b := e.b
	e.short(h.ClassID)
	e.short(h.Weight)
	e.longlong(h.BodySize)
	h.Properties.encode(e)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// DecodeHeader decodes a content header payload. BodySize is the peer's claim: check it
// against a limit before allocating for the body.
func DecodeHeader(p []byte, h *Header) error {
	d := decoder{b: p}
	h.ClassID = d.short()
	h.Weight = d.short()
	h.BodySize = d.longlong()
	if d.err != nil {
		return frameErr("content header of %d bytes", len(p))
	}
	if h.ClassID != ClassBasic {
		// RabbitMQ closes with unexpected-frame: no other class carries content.
		return NewError(UnexpectedFrame, "content header for class %d", h.ClassID)
	}
	h.Properties.decode(&d)
	if err := d.done(); err != nil {
		return err
	}
	return nil
}
