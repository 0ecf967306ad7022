package sqlfilter

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Bounds on what Parse takes: a selector longer or more deeply nested is refused (the
// broker's parser would run out of stack on deep nesting; nothing real comes near these).
const (
	MaxLen   = 64 << 10
	MaxDepth = 100
)

// Error is a selector the broker's parser refuses. Class is the Java exception the broker
// reports (its CHECK_CLIENT_CONFIG remark is the exception's class and message).
type Error struct {
	Class string
	Msg   string
}

func (e *Error) Error() string { return e.Class + ": " + e.Msg }

const (
	parseException   = "org.apache.rocketmq.filter.parser.ParseException"
	runtimeException = "java.lang.RuntimeException"
)

// Parse parses a SQL92 selector. As the broker's generated parser, it stops at the first
// token that cannot continue the expression: what follows is not read (only that one token
// must be a token).
func Parse(src string) (*Expr, error) {
	if len(src) > MaxLen {
		return nil, &Error{Class: parseException, Msg: fmt.Sprintf("expression longer than %d bytes", MaxLen)}
	}
	p := &parser{lx: lexer{src: src}}
	n, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	b, err := p.asBoolean(n)
	if err != nil {
		return nil, err
	}
	return &Expr{root: b, src: src}, nil
}

type parser struct {
	lx    lexer
	ahead []token // tokens read and not yet taken
	depth int
}

// peek returns the token k places ahead (0: the next), reading it if needed.
func (p *parser) peek(k int) (token, error) {
	for len(p.ahead) <= k {
		t, err := p.lx.next()
		if err != nil {
			return token{}, err
		}
		p.ahead = append(p.ahead, t)
	}
	return p.ahead[k], nil
}

// take consumes the next token, which peek has read.
func (p *parser) take() token {
	t := p.ahead[0]
	p.ahead = p.ahead[1:]
	return t
}

func (p *parser) unexpected(t token) error {
	line, col := position(p.lx.src, t.start)
	return &Error{Class: parseException, Msg: fmt.Sprintf("Encountered \"%s\" at line %d, column %d.", t, line, col)}
}

func (p *parser) expect(k tokKind) (token, error) {
	t, err := p.peek(0)
	if err != nil {
		return t, err
	}
	if t.kind != k {
		return t, p.unexpected(t)
	}
	return p.take(), nil
}

func semantic(format string, args ...any) error {
	return &Error{Class: runtimeException, Msg: fmt.Sprintf(format, args...)}
}

// asBoolean is asBooleanExpression: a condition as is, a property as a cast, else an error.
func (p *parser) asBoolean(n node) (node, error) {
	switch x := n.(type) {
	case booleanNode:
		return x, nil
	case *propNode:
		return &castNode{x: x}, nil
	}
	return nil, &Error{Class: parseException, Msg: "Expression will not result in a boolean value: " + describe(n)}
}

func describe(n node) string {
	switch x := n.(type) {
	case *constNode:
		return x.v.String()
	case *boolConstNode:
		return x.v.String()
	case *propNode:
		return x.name
	}
	return "expression"
}

func (p *parser) orExpr() (node, error) { return p.logic(tOr, p.andExpr) }

func (p *parser) andExpr() (node, error) { return p.logic(tAnd, p.equalityExpr) }

func (p *parser) logic(op tokKind, operand func() (node, error)) (node, error) {
	l, err := operand()
	for err == nil {
		var t token
		if t, err = p.peek(0); err != nil || t.kind != op {
			break
		}
		p.take()
		var r node
		if r, err = operand(); err != nil {
			break
		}
		var lb, rb node
		if lb, err = p.asBoolean(l); err != nil {
			break
		}
		if rb, err = p.asBoolean(r); err != nil {
			break
		}
		l = &logicNode{or: op == tOr, l: lb, r: rb}
	}
	return l, err
}

var nullConst = &boolConstNode{constNode{null}}

func (p *parser) equalityExpr() (node, error) {
	l, err := p.comparisonExpr()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek(0)
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tEq, tNe:
			p.take()
			r, err := p.comparisonExpr()
			if err != nil {
				return nil, err
			}
			if l, err = createEqual(l, r); err != nil {
				return nil, err
			}
			if t.kind == tNe {
				l = &notNode{x: l}
			}
		case tIs:
			t2, err := p.peek(1)
			if err != nil {
				return nil, err
			}
			p.take()
			isNull := &cmpNode{op: opEq, l: l, r: nullConst}
			if t2.kind == tNull {
				p.take()
				l = isNull
				continue
			}
			if _, err := p.expect(tNot); err != nil {
				return nil, err
			}
			if _, err := p.expect(tNull); err != nil {
				return nil, err
			}
			l = &notNode{x: isNull}
		default:
			return l, nil
		}
	}
}

func isConst(n node) (value, bool) {
	switch x := n.(type) {
	case *constNode:
		return x.v, true
	case *boolConstNode:
		return x.v, true
	}
	return null, false
}

// createEqual is ComparisonExpression.createEqual: NULL is no operand of =, and TRUE or
// FALSE on the left compares only with a condition when the right is a literal.
func createEqual(l, r node) (node, error) {
	for _, n := range []node{l, r} {
		if v, ok := isConst(n); ok && v.k == kNull {
			return nil, semantic("'NULL' cannot be compared.")
		}
	}
	if _, ok := isConst(l); ok {
		if _, ok := isConst(r); ok {
			_, lb := l.(*boolConstNode)
			_, rb := r.(*boolConstNode)
			if lb && !rb {
				return nil, semantic("'%s' cannot be compared with '%s'", describe(l), describe(r))
			}
		}
	}
	return &cmpNode{op: opEq, l: l, r: r}, nil
}

// createOrdering is createGreaterThan and its kin: only numbers, properties and
// non-condition expressions are ordered.
func createOrdering(op cmpOp, l, r node) (node, error) {
	for _, n := range []node{l, r} {
		if v, ok := isConst(n); ok {
			if !v.isNumber() {
				return nil, semantic("Value '%s' cannot be compared.", v)
			}
			continue
		}
		if _, ok := n.(booleanNode); ok {
			return nil, semantic("Value '%s' cannot be compared.", describe(n))
		}
	}
	return &cmpNode{op: op, l: l, r: r}, nil
}

func (p *parser) comparisonExpr() (node, error) {
	l, err := p.unaryExpr()
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek(0)
		if err != nil {
			return nil, err
		}
		not := false
		kind := t.kind
		if kind == tNot {
			t2, err := p.peek(1)
			if err != nil {
				return nil, err
			}
			switch t2.kind {
			case tContains, tStartsWith, tEndsWith, tBetween, tIn:
				p.take()
				not, kind = true, t2.kind
			default:
				return nil, p.unexpected(t)
			}
		}
		switch kind {
		case tGt, tGe, tLt, tLe:
			p.take()
			r, err := p.unaryExpr()
			if err != nil {
				return nil, err
			}
			op := map[tokKind]cmpOp{tGt: opGt, tGe: opGe, tLt: opLt, tLe: opLe}[kind]
			if l, err = createOrdering(op, l, r); err != nil {
				return nil, err
			}
		case tContains, tStartsWith, tEndsWith:
			p.take()
			s, err := p.stringLiteral()
			if err != nil {
				return nil, err
			}
			op := map[tokKind]strOp{tContains: opContains, tStartsWith: opStartsWith, tEndsWith: opEndsWith}[kind]
			l = &strNode{op: op, not: not, x: l, search: s}
		case tBetween:
			p.take()
			low, err := p.unaryExpr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expect(tAnd); err != nil {
				return nil, err
			}
			high, err := p.unaryExpr()
			if err != nil {
				return nil, err
			}
			if l, err = createBetween(l, low, high, not); err != nil {
				return nil, err
			}
		case tIn:
			p.take()
			list, err := p.stringList()
			if err != nil {
				return nil, err
			}
			prop, ok := l.(*propNode)
			if !ok {
				return nil, semantic("Expected a property for In expression, got: %s", describe(l))
			}
			set := make(map[string]bool, len(list))
			for _, s := range list {
				set[s] = true
			}
			l = &inNode{prop: prop, set: set, not: not}
		default:
			return l, nil
		}
	}
}

// createBetween is x >= low AND x <= high (NOT BETWEEN: x < low OR x > high); BETWEEN of
// two literals checks they are not NULL and low <= high.
func createBetween(x, low, high node, not bool) (node, error) {
	if not {
		lt, err := createOrdering(opLt, x, low)
		if err != nil {
			return nil, err
		}
		gt, err := createOrdering(opGt, x, high)
		if err != nil {
			return nil, err
		}
		return &logicNode{or: true, l: lt, r: gt}, nil
	}
	lv, lok := isConst(low)
	hv, hok := isConst(high)
	if lok && hok {
		if lv.k == kNull || hv.k == kNull {
			return nil, semantic("Illegal values of between, values can not be null!")
		}
		c, err := compare(hv, lv)
		if err != nil {
			return nil, &Error{Class: runtimeException, Msg: err.Error()}
		}
		if c < 0 {
			return nil, semantic("Illegal values of between, left value(%s) must less than or equal to right value(%s)", lv, hv)
		}
	}
	ge, err := createOrdering(opGe, x, low)
	if err != nil {
		return nil, err
	}
	le, err := createOrdering(opLe, x, high)
	if err != nil {
		return nil, err
	}
	return &logicNode{l: ge, r: le}, nil
}

func (p *parser) stringList() ([]string, error) {
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	var list []string
	for {
		s, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		list = append(list, s)
		t, err := p.peek(0)
		if err != nil {
			return nil, err
		}
		if t.kind != tComma {
			break
		}
		p.take()
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	return list, nil
}

// stringLiteral reads a quoted string: ” inside stands for one quote.
func (p *parser) stringLiteral() (string, error) {
	t, err := p.expect(tString)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(t.text[1:len(t.text)-1], "''", "'"), nil
}

func (p *parser) unaryExpr() (node, error) {
	if p.depth >= MaxDepth {
		t, _ := p.peek(0)
		line, col := position(p.lx.src, t.start)
		return nil, &Error{Class: parseException, Msg: fmt.Sprintf("expression nested deeper than %d at line %d, column %d", MaxDepth, line, col)}
	}
	p.depth++
	defer func() { p.depth-- }()
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tPlus:
		p.take()
		return p.unaryExpr()
	case tMinus:
		p.take()
		x, err := p.unaryExpr()
		if err != nil {
			return nil, err
		}
		return &negNode{x: x}, nil
	case tNot:
		p.take()
		x, err := p.unaryExpr()
		if err != nil {
			return nil, err
		}
		if x, err = p.asBoolean(x); err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.primaryExpr()
}

func (p *parser) primaryExpr() (node, error) {
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tString:
		s, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		return &constNode{value{k: kString, s: s}}, nil
	case tDecimal:
		p.take()
		text := strings.TrimRight(t.text, "lL")
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, &Error{Class: "java.lang.NumberFormatException", Msg: "For input string: \"" + text + "\""}
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return &constNode{value{k: kInt, i: n}}, nil
		}
		return &constNode{value{k: kLong, i: n}}, nil
	case tFloat:
		p.take()
		f, _ := strconv.ParseFloat(t.text, 64) // the token is a decimal number; out of range is ±Inf or 0
		switch {
		case f > math.MaxFloat64:
			return nil, semantic("%s is greater than %v", t.text, math.MaxFloat64)
		case f < math.SmallestNonzeroFloat64:
			// As the broker's ConstantExpression.createFloat: below Double.MIN_VALUE (the
			// smallest positive double), so 0.0 as well.
			return nil, semantic("%s is less than %v", t.text, math.SmallestNonzeroFloat64)
		}
		return &constNode{value{k: kDouble, f: f}}, nil
	case tTrue:
		p.take()
		return &boolConstNode{constNode{vTrue}}, nil
	case tFalse:
		p.take()
		return &boolConstNode{constNode{vFalse}}, nil
	case tNull:
		p.take()
		return nullConst, nil
	case tID:
		p.take()
		return &propNode{name: t.text}, nil
	case tLParen:
		p.take()
		x, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, p.unexpected(t)
}
