package remoting

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON header is RemotingCommand as fastjson writes it: its properties in name order,
// null ones left out, language by name, ext fields as strings, and serializeTypeCurrentRPC
// (a getter fastjson does not know to skip), which readers ignore:
//
//	{"code":105,"extFields":{"topic":"t"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":441}
//
// (the Java client 5.1.4's route lookup). client-go writes its struct's order instead, with
// an empty remark; both read either.

// appendJSONHeader appends c's header as fastjson writes it, ext fields in sorted key order.
func appendJSONHeader(b []byte, c *Command) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(c.Code), 10)
	if len(c.ExtFields) > 0 {
		b = append(b, `,"extFields":{`...)
		var arr [16]string
		for i, k := range sortedKeys(arr[:0], c.ExtFields) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, c.ExtFields[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"flag":`...)
	b = strconv.AppendInt(b, int64(c.Flag), 10)
	b = append(b, `,"language":`...)
	if int(c.Language) < len(languageNames) {
		b = append(b, '"')
		b = append(b, languageNames[c.Language]...)
		b = append(b, '"')
	} else {
		// No name: the number, which fastjson reads as the enum's ordinal (and client-go as
		// an unknown language), rather than a name nobody reads.
		b = strconv.AppendInt(b, int64(c.Language), 10)
	}
	b = append(b, `,"opaque":`...)
	b = strconv.AppendInt(b, int64(c.Opaque), 10)
	if c.Remark != "" {
		b = append(b, `,"remark":`...)
		b = appendJSONString(b, c.Remark)
	}
	b = append(b, `,"serializeTypeCurrentRPC":"JSON","version":`...)
	b = strconv.AppendInt(b, int64(c.Version), 10)
	return append(b, '}')
}

const hex = "0123456789abcdef"

// appendJSONString appends s quoted. Invalid UTF-8 becomes U+FFFD, as encoding/json does,
// so the header is always valid JSON in UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// maxJSONDepth bounds the nesting of values the header decoder skips (unknown properties):
// RemotingCommand has none deeper than extFields.
const maxJSONDepth = 32

// jsonDecoder reads one JSON header. It knows RemotingCommand's properties and skips others;
// keys match exactly (fastjson's case-insensitive matching is not needed by any client).
type jsonDecoder struct {
	b       []byte
	i       int
	scratch []byte // an unescaped string, before it becomes a key match or a value
}

// decodeJSONHeader decodes a JSON header into c, which is new: a property missing or null
// is the zero value; a repeated one is its last.
func decodeJSONHeader(h []byte, c *Command) error {
	var scratch []byte
	return decodeJSONHeaderScratch(h, c, &scratch)
}

// decodeJSONHeaderScratch is decodeJSONHeader with a buffer for unescaping, kept by the
// caller from one header to the next.
func decodeJSONHeaderScratch(h []byte, c *Command, scratch *[]byte) error {
	d := jsonDecoder{b: h, scratch: *scratch}
	defer func() { *scratch = d.scratch[:0] }()
	if err := d.object(func(key []byte) error { return d.property(key, c) }); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return d.errorf("data after the JSON header")
	}
	return nil
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return malformed("JSON header at offset %d: "+format, append([]any{d.i}, args...)...)
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jsonDecoder) expect(c byte) error {
	if d.peek() != c {
		return d.errorf("want %q", c)
	}
	d.i++
	return nil
}

// literal consumes s if it is next (after white space).
func (d *jsonDecoder) literal(s string) bool {
	d.ws()
	if len(d.b)-d.i >= len(s) && string(d.b[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// object reads an object, calling member with each key (valid until the next read) to read
// its value.
func (d *jsonDecoder) object(member func(key []byte) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.errorf("want a property name")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.errorf("want ',' or '}'")
		}
	}
}

func (d *jsonDecoder) property(key []byte, c *Command) error {
	var err error
	switch string(key) {
	case "code":
		err = d.int32(&c.Code)
	case "version":
		err = d.int32(&c.Version)
	case "opaque":
		err = d.int32(&c.Opaque)
	case "flag":
		err = d.int32(&c.Flag)
	case "language":
		err = d.language(&c.Language)
	case "remark":
		if d.literal("null") {
			c.Remark = ""
			return nil
		}
		if d.peek() != '"' {
			return d.errorf("remark is not a string")
		}
		var s []byte
		if s, err = d.str(); err == nil {
			c.Remark = string(s)
		}
	case "extFields":
		err = d.extFields(c)
	default:
		err = d.skip(0)
	}
	return err
}

// int32 reads an integer that fits an int32 (what fastjson writes for Java's ints), or null.
func (d *jsonDecoder) int32(v *int32) error {
	if d.literal("null") {
		*v = 0
		return nil
	}
	num, isInt, err := d.number()
	if err != nil {
		return err
	}
	if !isInt {
		return d.errorf("%s is not an integer", num)
	}
	n, err := strconv.ParseInt(string(num), 10, 32)
	if err != nil {
		return d.errorf("%s is out of range", num)
	}
	*v = int32(n)
	return nil
}

// language reads a LanguageCode: its name, as fastjson writes it, or its ordinal, as
// fastjson also reads it. A name from a newer client is Other rather than an error.
func (d *jsonDecoder) language(l *Language) error {
	switch d.peek() {
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		if v, ok := languageByName(string(s)); ok {
			*l = v
		} else {
			*l = Other
		}
		return nil
	case 'n':
		if d.literal("null") {
			*l = 0
			return nil
		}
	}
	num, isInt, err := d.number()
	if err != nil {
		return err
	}
	n, perr := strconv.ParseUint(string(num), 10, 8)
	if !isInt || perr != nil {
		return d.errorf("language %s is not a language code", num)
	}
	*l = Language(n)
	return nil
}

// extFields reads the ext fields object, or null, in place of c's map. Values are
// strings; numbers and booleans are kept as their text, as fastjson converts them into
// Java's HashMap<String, String>; null values are left out, as Java's encoders leave them.
func (d *jsonDecoder) extFields(c *Command) error {
	c.ExtFields = nil
	if d.literal("null") {
		return nil
	}
	return d.object(func(kb []byte) error {
		k := key(kb)
		var v string
		switch d.peek() {
		case '"':
			s, err := d.str()
			if err != nil {
				return err
			}
			v = string(s)
		case 't', 'f', 'n':
			switch {
			case d.literal("true"):
				v = "true"
			case d.literal("false"):
				v = "false"
			case d.literal("null"):
				delete(c.ExtFields, k) // the last of repeated keys counts
				return nil
			default:
				return d.errorf("bad literal")
			}
		default:
			num, _, err := d.number()
			if err != nil {
				return err
			}
			v = string(num)
		}
		if c.ExtFields == nil {
			// Sized for the fields left in the header (an overestimate by the few
			// properties after extFields), so that it is made once.
			c.ExtFields = make(map[string]string, min(bytes.Count(d.b[d.i:], []byte{','})+1, 64))
		}
		c.ExtFields[k] = v
		return nil
	})
}

// number reads a JSON number, returning its text and whether it is an integer (no
// fraction, no exponent).
func (d *jsonDecoder) number() (num []byte, isInt bool, err error) {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case d.i < len(d.b) && d.b[d.i] >= '1' && d.b[d.i] <= '9':
		d.digits()
	default:
		return nil, false, d.errorf("want a value")
	}
	isInt = true
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if d.digits() == 0 {
			return nil, false, d.errorf("no digits after a decimal point")
		}
		isInt = false
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if d.digits() == 0 {
			return nil, false, d.errorf("no digits in an exponent")
		}
		isInt = false
	}
	return d.b[start:d.i], isInt, nil
}

func (d *jsonDecoder) digits() int {
	start := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	return d.i - start
}

// str reads a string (the next byte is its quote) and returns it unescaped: a slice of the
// input when it has no escapes, else of d.scratch. Invalid UTF-8 and lone surrogates become
// U+FFFD, as in encoding/json.
func (d *jsonDecoder) str() ([]byte, error) {
	d.i++ // the opening quote
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			d.i++
			return d.b[start : d.i-1], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.i++
	}
	out := append(d.scratch[:0], d.b[start:d.i]...)
	for {
		if d.i >= len(d.b) {
			return nil, d.errorf("unterminated string")
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			d.scratch = out
			return out, nil
		case c < 0x20:
			return nil, d.errorf("control character in a string")
		case c == '\\':
			d.i++
			if d.i >= len(d.b) {
				return nil, d.errorf("unterminated string")
			}
			e := d.b[d.i]
			d.i++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return nil, d.errorf("bad \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair is two escapes; a lone half is U+FFFD, and what follows it
					// is read on its own.
					hi := r
					r = utf8.RuneError
					if save := d.i; len(d.b)-d.i >= 2 && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
						d.i += 2
						if lo, ok := d.hex4(); ok && utf16.DecodeRune(hi, lo) != utf8.RuneError {
							r = utf16.DecodeRune(hi, lo)
						} else {
							d.i = save
						}
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, d.errorf("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
}

// hex4 reads the four hex digits of a \u escape.
func (d *jsonDecoder) hex4() (rune, bool) {
	if len(d.b)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// skip reads past any value, nested at most maxJSONDepth deep.
func (d *jsonDecoder) skip(depth int) error {
	if depth > maxJSONDepth {
		return d.errorf("nested deeper than %d", maxJSONDepth)
	}
	switch d.peek() {
	case '"':
		_, err := d.str()
		return err
	case '{':
		return d.object(func([]byte) error { return d.skip(depth + 1) })
	case '[':
		d.i++
		if d.peek() == ']' {
			d.i++
			return nil
		}
		for {
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return nil
			default:
				return d.errorf("want ',' or ']'")
			}
		}
	case 't', 'f', 'n':
		if d.literal("true") || d.literal("false") || d.literal("null") {
			return nil
		}
		return d.errorf("bad literal")
	}
	_, _, err := d.number()
	return err
}
