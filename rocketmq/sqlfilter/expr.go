// Package sqlfilter parses and evaluates RocketMQ's SQL92 message selectors (the broker's
// property filter, expressionType SQL92) as RocketMQ 5.1.4's rocketmq-filter module does:
// its grammar (SelectorParser.jj), the checks its expression classes make while building,
// and their three-valued evaluation over a message's properties, where every property is a
// string, a missing one is NULL, and a comparison with NULL is unknown.
package sqlfilter

import "strings"

// Lookup returns a message property's value; ok false when the message has none.
type Lookup func(name string) (value string, ok bool)

// node is an expression; eval returns its value (null for unknown) or the error Java's
// evaluation would throw (the broker then treats the message as not matching).
type node interface {
	eval(Lookup) (value, error)
}

// booleanNode marks the expressions that implement Java's BooleanExpression: those may be
// operands of AND, OR and NOT, and may not be compared with <, >, <=, >=.
type booleanNode interface {
	node
	boolean()
}

// constNode is a literal; boolConstNode is TRUE, FALSE or NULL (Java's
// BooleanConstantExpression, which is a condition).
type constNode struct{ v value }

func (n *constNode) eval(Lookup) (value, error) { return n.v, nil }

type boolConstNode struct{ constNode }

func (*boolConstNode) boolean() {}

type propNode struct{ name string }

func (n *propNode) eval(l Lookup) (value, error) {
	if v, ok := l(n.name); ok {
		return value{k: kString, s: v}, nil
	}
	return null, nil
}

// negNode is unary minus: a number negated, anything else NULL.
type negNode struct{ x node }

func (n *negNode) eval(l Lookup) (value, error) {
	v, err := n.x.eval(l)
	if err != nil {
		return null, err
	}
	switch v.k {
	case kInt:
		return value{k: kInt, i: int64(-int32(v.i))}, nil
	case kLong:
		return value{k: kLong, i: -v.i}, nil
	case kDouble:
		return value{k: kDouble, f: -v.f}, nil
	}
	return null, nil
}

func asBool(v value) (value, error) {
	if v.k != kNull && v.k != kBool {
		return null, errClass
	}
	return v, nil
}

type notNode struct{ x node }

func (*notNode) boolean() {}
func (n *notNode) eval(l Lookup) (value, error) {
	v, err := n.x.eval(l)
	if err == nil {
		v, err = asBool(v)
	}
	if err != nil || v.k == kNull {
		return null, err
	}
	return boolean(!v.b), nil
}

// castNode is a property used as a condition: TRUE only for a Boolean, which a property (a
// string) never is.
type castNode struct{ x node }

func (*castNode) boolean() {}
func (n *castNode) eval(l Lookup) (value, error) {
	v, err := n.x.eval(l)
	if err != nil || v.k == kNull {
		return null, err
	}
	return boolean(v.k == kBool && v.b), nil
}

type logicNode struct {
	or   bool
	l, r node
}

func (*logicNode) boolean() {}
func (n *logicNode) eval(lk Lookup) (value, error) {
	// OR: TRUE as soon as one side is; AND: FALSE as soon as one side is; else unknown if
	// a side is. The right side is not evaluated when the left decides.
	decisive := n.or
	lv, err := n.l.eval(lk)
	if err == nil {
		lv, err = asBool(lv)
	}
	if err != nil {
		return null, err
	}
	if lv.k == kBool && lv.b == decisive {
		return lv, nil
	}
	rv, err := n.r.eval(lk)
	if err == nil {
		rv, err = asBool(rv)
	}
	if err != nil {
		return null, err
	}
	if rv.k == kBool && rv.b == decisive {
		return rv, nil
	}
	if lv.k == kNull || rv.k == kNull {
		return null, nil
	}
	return boolean(!decisive), nil
}

type cmpOp uint8

const (
	opEq cmpOp = iota
	opGt
	opGe
	opLt
	opLe
)

type cmpNode struct {
	op   cmpOp
	l, r node
}

func (*cmpNode) boolean() {}
func (n *cmpNode) eval(lk Lookup) (value, error) {
	lv, err := n.l.eval(lk)
	if err != nil {
		return null, err
	}
	if n.op == opEq {
		rv, err := n.r.eval(lk)
		if err != nil {
			return null, err
		}
		if (lv.k == kNull) != (rv.k == kNull) {
			if lv.k == kNull {
				return null, nil
			}
			return vFalse, nil
		}
		if javaEquals(lv, rv) {
			return vTrue, nil
		}
		c, err := compare(lv, rv)
		if err != nil {
			return null, err
		}
		return boolean(c == 0), nil
	}
	if lv.k == kNull {
		return null, nil
	}
	rv, err := n.r.eval(lk)
	if err != nil || rv.k == kNull {
		return null, err
	}
	if lv.k == kString && rv.k == kString {
		// Ordering strings is illegal; they are first tried as Doubles.
		if lv, err = parseDouble(lv.s); err == nil {
			rv, err = parseDouble(rv.s)
		}
		if err != nil {
			return null, err
		}
	}
	c, err := compare(lv, rv)
	if err != nil {
		return null, err
	}
	switch n.op {
	case opGt:
		return boolean(c > 0), nil
	case opGe:
		return boolean(c >= 0), nil
	case opLt:
		return boolean(c < 0), nil
	}
	return boolean(c <= 0), nil
}

type inNode struct {
	prop *propNode
	set  map[string]bool
	not  bool
}

func (*inNode) boolean() {}
func (n *inNode) eval(l Lookup) (value, error) {
	v, _ := n.prop.eval(l)
	if v.k != kString {
		return null, nil
	}
	return boolean(n.set[v.s] != n.not), nil
}

type strOp uint8

const (
	opContains strOp = iota
	opStartsWith
	opEndsWith
)

// strNode is CONTAINS, STARTSWITH, ENDSWITH and their NOT forms: FALSE (not unknown) when
// the operand is NULL or not a string, or the search string is empty, in both forms.
type strNode struct {
	op     strOp
	not    bool
	x      node
	search string
}

func (*strNode) boolean() {}
func (n *strNode) eval(l Lookup) (value, error) {
	if n.search == "" {
		return vFalse, nil
	}
	v, err := n.x.eval(l)
	if err != nil {
		return null, err
	}
	if v.k != kString {
		return vFalse, nil
	}
	var hit bool
	switch n.op {
	case opContains:
		hit = strings.Contains(v.s, n.search)
	case opStartsWith:
		hit = strings.HasPrefix(v.s, n.search)
	default:
		hit = strings.HasSuffix(v.s, n.search)
	}
	return boolean(hit != n.not), nil
}

// Expr is a parsed selector.
type Expr struct {
	root node
	src  string
}

// String is the expression as written.
func (e *Expr) String() string { return e.src }

// Match says whether a message with these properties is selected: the expression is TRUE.
// Unknown (NULL), FALSE and an evaluation error (a property that does not convert to the
// number it is compared with) do not match, as the broker's ExpressionMessageFilter decides.
func (e *Expr) Match(l Lookup) bool {
	v, err := e.root.eval(l)
	return err == nil && v.k == kBool && v.b
}

// Eval is the expression's three-valued result: true or false with known true; known false
// for unknown (NULL). err is the evaluation error, if any.
func (e *Expr) Eval(l Lookup) (result, known bool, err error) {
	v, err := e.root.eval(l)
	if err != nil {
		return false, false, err
	}
	if v.k != kBool {
		return false, false, nil
	}
	return v.b, true, nil
}

// MapLookup looks properties up in a map.
func MapLookup(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
