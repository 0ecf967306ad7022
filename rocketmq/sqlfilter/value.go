package sqlfilter

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// kind is the Java class of a value the expression classes produce: a property is always a
// String (the broker's MessageEvaluationContext keeps properties as strings), a whole-number
// literal an Integer or, past int's range, a Long, a decimal literal a Double.
type kind uint8

const (
	kNull kind = iota
	kBool
	kInt  // java.lang.Integer
	kLong // java.lang.Long
	kDouble
	kString
)

type value struct {
	k kind
	b bool
	i int64 // kInt, kLong
	f float64
	s string
}

var (
	null     = value{}
	vTrue    = value{k: kBool, b: true}
	vFalse   = value{k: kBool}
	errClass = errors.New("java.lang.ClassCastException")
)

func boolean(b bool) value {
	if b {
		return vTrue
	}
	return vFalse
}

func (v value) isNumber() bool { return v.k == kInt || v.k == kLong || v.k == kDouble }

func (v value) String() string {
	switch v.k {
	case kNull:
		return "NULL"
	case kBool:
		if v.b {
			return "TRUE"
		}
		return "FALSE"
	case kInt, kLong:
		return strconv.FormatInt(v.i, 10)
	case kDouble:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	}
	return "'" + strings.ReplaceAll(v.s, "'", "''") + "'"
}

// javaEquals is Object.equals between two values: same class and same value (Double by
// its bits, so NaN equals NaN and 0.0 does not equal -0.0).
func javaEquals(a, b value) bool {
	if a.k != b.k {
		return false
	}
	switch a.k {
	case kNull:
		return true
	case kBool:
		return a.b == b.b
	case kInt, kLong:
		return a.i == b.i
	case kDouble:
		return doubleBits(a.f) == doubleBits(b.f)
	}
	return a.s == b.s
}

// doubleBits is Double.doubleToLongBits: every NaN the same.
func doubleBits(f float64) uint64 {
	if math.IsNaN(f) {
		return 0x7ff8000000000000
	}
	return math.Float64bits(f)
}

// compareDouble is Double.compare: -0.0 below 0.0, NaN above everything and equal to itself.
func compareDouble(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	x, y := int64(doubleBits(a)), int64(doubleBits(b))
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// numberFormat is a java.lang.NumberFormatException: a string that does not convert.
type numberFormat struct{ s string }

func (e *numberFormat) Error() string {
	return "java.lang.NumberFormatException: For input string: \"" + e.s + "\""
}

// compare is ComparisonExpression.__compare with string conversion on (as the broker's
// parser sets it): values of different classes are converted up (Integer to Long to Double;
// a String to the other side's class) and then compared; classes that do not convert compare
// as -1. A String that does not parse is an error, as is the Boolean-left, String-right case
// (Java casts the Boolean to String there and fails).
func compare(l, r value) (int, error) {
	if l.k != r.k {
		var err error
		switch l.k {
		case kBool:
			if r.k == kString {
				return 0, errClass
			}
			return -1, nil
		case kInt:
			switch r.k {
			case kLong:
				l.k = kLong
			case kDouble:
				l = value{k: kDouble, f: float64(l.i)}
			case kString:
				r, err = parseInt(r.s, 32)
			default:
				return -1, nil
			}
		case kLong:
			switch r.k {
			case kInt:
				r.k = kLong
			case kDouble:
				l = value{k: kDouble, f: float64(l.i)}
			case kString:
				r, err = parseInt(r.s, 64)
			default:
				return -1, nil
			}
		case kDouble:
			switch r.k {
			case kInt, kLong:
				r = value{k: kDouble, f: float64(r.i)}
			case kString:
				r, err = parseDouble(r.s)
			default:
				return -1, nil
			}
		case kString:
			switch r.k {
			case kBool:
				l = boolean(strings.EqualFold(l.s, "true"))
			case kInt:
				l, err = parseInt(l.s, 32)
			case kLong:
				l, err = parseInt(l.s, 64)
			case kDouble:
				l, err = parseDouble(l.s)
			default:
				return -1, nil
			}
		default:
			return -1, nil
		}
		if err != nil {
			return 0, err
		}
	}
	switch l.k {
	case kBool:
		switch {
		case l.b == r.b:
			return 0, nil
		case l.b:
			return 1, nil
		}
		return -1, nil
	case kInt, kLong:
		switch {
		case l.i < r.i:
			return -1, nil
		case l.i > r.i:
			return 1, nil
		}
		return 0, nil
	case kDouble:
		return compareDouble(l.f, r.f), nil
	case kString:
		return strings.Compare(l.s, r.s), nil
	}
	return 0, nil
}

// parseInt is Integer.valueOf (bits 32) or Long.valueOf (64): an optional sign and decimal
// digits (any Unicode decimal digit in the BMP, as Character.digit takes), nothing else.
func parseInt(s string, bits int) (value, error) {
	bad := &numberFormat{s}
	t := s
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	if t == "" {
		return null, bad
	}
	limit := uint64(math.MaxInt64)
	if bits == 32 {
		limit = math.MaxInt32
	}
	if neg {
		limit++
	}
	var n uint64
	for _, r := range t {
		d := digitValue(r)
		if d < 0 || n > (limit-uint64(d))/10 {
			return null, bad
		}
		n = n*10 + uint64(d)
	}
	k := kLong
	if bits == 32 {
		k = kInt
	}
	v := int64(n)
	if neg {
		v = -v // limit+1 for the most negative wraps to it
	}
	return value{k: k, i: v}, nil
}

// digitValue is Character.digit(c, 10) for a char: the value of a decimal digit, -1 for
// anything else. Unicode encodes decimal digits in runs of ten from zero.
func digitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	if r < 0x80 || r > 0xFFFF || r == utf8.RuneError || !unicode.Is(unicode.Nd, r) {
		return -1
	}
	for _, rg := range unicode.Nd.R16 {
		if uint16(r) >= rg.Lo && uint16(r) <= rg.Hi && rg.Stride == 1 {
			return int(uint16(r)-rg.Lo) % 10
		}
	}
	return -1
}

var (
	decimalFloat = regexp.MustCompile(`^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)
	hexFloat     = regexp.MustCompile(`^0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+$`)
)

// parseDouble is Double.valueOf: surrounding control characters and spaces trimmed, an
// optional sign, then "NaN", "Infinity", a decimal or a hexadecimal (with "p" exponent)
// number, optionally ending in one of fFdD.
func parseDouble(s string) (value, error) {
	bad := &numberFormat{s}
	t := strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	sign := ""
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign, t = t[:1], t[1:]
	}
	switch t {
	case "NaN":
		return value{k: kDouble, f: math.NaN()}, nil
	case "Infinity":
		if sign == "-" {
			return value{k: kDouble, f: math.Inf(-1)}, nil
		}
		return value{k: kDouble, f: math.Inf(1)}, nil
	}
	if n := len(t); n > 0 && strings.IndexByte("fFdD", t[n-1]) >= 0 {
		t = t[:n-1] // a hexadecimal digit there, with no exponent after it, fails below anyway
	}
	if !decimalFloat.MatchString(t) && !hexFloat.MatchString(t) {
		return null, bad
	}
	f, err := strconv.ParseFloat(sign+t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return null, bad
	}
	return value{k: kDouble, f: f}, nil
}
