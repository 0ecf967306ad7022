package sqlfilter

import (
	"fmt"
	"strings"
)

// tokKind is a token of RocketMQ's selector grammar (SelectorParser.jj).
type tokKind int

const (
	tEOF tokKind = iota
	tID
	tDecimal
	tFloat
	tString
	// Keywords (case-insensitive).
	tNot
	tAnd
	tOr
	tBetween
	tIn
	tTrue
	tFalse
	tNull
	tIs
	tContains
	tStartsWith
	tEndsWith
	// Punctuation.
	tEq
	tNe
	tGt
	tGe
	tLt
	tLe
	tLParen
	tRParen
	tComma
	tPlus
	tMinus
)

var keywords = map[string]tokKind{
	"NOT": tNot, "AND": tAnd, "OR": tOr, "BETWEEN": tBetween, "IN": tIn, "TRUE": tTrue,
	"FALSE": tFalse, "NULL": tNull, "IS": tIs, "CONTAINS": tContains,
	"STARTSWITH": tStartsWith, "ENDSWITH": tEndsWith,
}

type token struct {
	kind  tokKind
	text  string // the image as written (a string literal's with its quotes)
	start int    // byte offset
}

func (t token) String() string {
	if t.kind == tEOF {
		return "<EOF>"
	}
	return t.text
}

// lexer tokenizes on demand: like the generated parser it reads a token only when the
// grammar looks at it, so what follows a complete expression is never read further than the
// one token the parser peeks at.
type lexer struct {
	src string
	pos int
}

func isIDStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIDPart(c byte) bool { return isIDStart(c) || c >= '0' && c <= '9' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) errorf(at int, format string, args ...any) error {
	line, col := position(l.src, at)
	return &Error{Class: "org.apache.rocketmq.filter.parser.TokenMgrError",
		Msg: fmt.Sprintf("Lexical error at line %d, column %d.  ", line, col) + fmt.Sprintf(format, args...)}
}

// position is the 1-based line and column of a byte offset.
func position(src string, at int) (line, col int) {
	line = 1 + strings.Count(src[:at], "\n")
	col = at - strings.LastIndexByte(src[:at], '\n')
	return line, col
}

// next reads the next token. Whitespace is " \t\n\r\f"; comments are "--" up to and with a
// line end (without one ahead the dashes are minus signs) and "/* ... */".
func (l *lexer) next() (token, error) {
	s := l.src
	for l.pos < len(s) {
		c := s[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			l.pos++
			continue
		case c == '-' && strings.HasPrefix(s[l.pos:], "--"):
			if i := strings.IndexAny(s[l.pos:], "\n\r"); i >= 0 {
				l.pos += i + 1
				if s[l.pos-1] == '\r' && l.pos < len(s) && s[l.pos] == '\n' {
					l.pos++
				}
				continue
			}
		case c == '/' && strings.HasPrefix(s[l.pos:], "/*"):
			if i := strings.Index(s[l.pos+2:], "*/"); i >= 0 {
				l.pos += 2 + i + 2
				continue
			}
		}
		break
	}
	start := l.pos
	if start >= len(s) {
		return token{kind: tEOF, start: start}, nil
	}
	tok := func(k tokKind, n int) (token, error) {
		l.pos = start + n
		return token{kind: k, text: s[start : start+n], start: start}, nil
	}
	c := s[start]
	switch {
	case isIDStart(c):
		n := 1
		for start+n < len(s) && isIDPart(s[start+n]) {
			n++
		}
		if k, ok := keywords[strings.ToUpper(s[start:start+n])]; ok {
			return tok(k, n)
		}
		return tok(tID, n)
	case isDigit(c) || c == '.' && start+1 < len(s) && isDigit(s[start+1]):
		return l.number(start)
	case c == '\'':
		for i := start + 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					i++
					continue
				}
				return tok(tString, i+1-start)
			}
		}
		return token{}, l.errorf(len(s), "Encountered: <EOF> after : %q", s[start:])
	}
	two := ""
	if start+1 < len(s) {
		two = s[start : start+2]
	}
	switch two {
	case "<>":
		return tok(tNe, 2)
	case ">=":
		return tok(tGe, 2)
	case "<=":
		return tok(tLe, 2)
	}
	switch c {
	case '=':
		return tok(tEq, 1)
	case '>':
		return tok(tGt, 1)
	case '<':
		return tok(tLt, 1)
	case '(':
		return tok(tLParen, 1)
	case ')':
		return tok(tRParen, 1)
	case ',':
		return tok(tComma, 1)
	case '+':
		return tok(tPlus, 1)
	case '-':
		return tok(tMinus, 1)
	}
	return token{}, l.errorf(start, "Encountered: %q (%d), after : \"\"", string(rune(c)), c)
}

// number reads the longest DECIMAL_LITERAL ("0" | [1-9][0-9]*[lL]?) or
// FLOATING_POINT_LITERAL (digits "." digits? exp? | "." digits exp? | digits exp).
func (l *lexer) number(start int) (token, error) {
	s := l.src
	digits := func(i int) int {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i
	}
	exponent := func(i int) int { // the end of an exponent at i, or i when there is none
		if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if k := digits(j); k > j {
				return k
			}
		}
		return i
	}
	// The floating point form, if any.
	fend := -1
	if s[start] == '.' {
		fend = exponent(digits(start + 1))
	} else {
		i := digits(start)
		if i < len(s) && s[i] == '.' {
			fend = exponent(digits(i + 1))
		} else if e := exponent(i); e > i {
			fend = e
		}
	}
	// The decimal form.
	dend := start + 1
	if s[start] != '0' && s[start] != '.' {
		dend = digits(start)
		if dend < len(s) && (s[dend] == 'l' || s[dend] == 'L') {
			dend++
		}
	} else if s[start] == '.' {
		dend = -1
	}
	kind, end := tDecimal, dend
	if fend > dend {
		kind, end = tFloat, fend
	}
	l.pos = end
	return token{kind: kind, text: s[start:end], start: start}, nil
}
