package sqlfilter

import (
	"strings"
	"testing"
)

// props is the message the table tests evaluate against (all properties are strings, as the
// broker's MessageEvaluationContext has them).
var props = map[string]string{
	"TAGS": "TagA", "KEYS": "k1 k2", "n": "5", "big": "5000000000", "f": "2.5", "neg": "-3",
	"color": "blue", "word": "hello world", "t": "TRUE", "sp": " 7 ", "nan": "NaN", "q": "it's",
	"zero": "0", "mzero": "-0.0", "hexf": "0x1p3", "suffix": "1.5f", "plus": "+4", "empty": "",
	"a": "10", "b": "9",
}

// evalCases are expressions and their value on props, from the Java classes' semantics
// (java_test.go checks them against RocketMQ's filter module too). want: "T" TRUE, "F" FALSE,
// "N" unknown (NULL), "E" evaluation error; every one but "T" does not match.
var evalCases = []struct{ expr, want string }{
	{"TAGS = 'TagA'", "T"},
	{"TAGS = 'TagB'", "F"},
	{"tags = 'TagA'", "N"}, // property names are case-sensitive
	{"TAGS <> 'TagB'", "T"},
	{"missing = 'x'", "N"},     // NULL on the left: unknown
	{"'x' = missing", "F"},     // NULL on the right: FALSE (ComparisonExpression.doCreateEqual)
	{"missing <> 'x'", "N"},    // NOT unknown
	{"'x' <> missing", "T"},    // NOT FALSE
	{"n = 5", "T"},             // String vs Integer: Integer.valueOf("5")
	{"5 = n", "T"},             // Integer vs String: the string converted
	{"n > 3", "T"},             // the scenario's comparison
	{"n > 5", "F"},             // strict
	{"n >= 5 AND n <= 5", "T"}, //
	{"n < 5.5", "T"},           // String vs Double
	{"n = 5.0", "T"},           // Double.valueOf("5") = 5.0
	{"f = 2", "E"},             // Integer.valueOf("2.5") fails: error, no match
	{"f > 2", "E"},             //
	{"f > 2.0", "T"},           //
	{"big > 3", "E"},           // Integer.valueOf("5000000000") overflows
	{"big > 3000000000", "T"},  // Long literal: Long.valueOf
	{"big = 5000000000L", "T"}, //
	{"neg < 0", "T"},           //
	{"neg = -3", "T"},          // unary minus on an Integer literal
	{"-neg = 3", "N"},          // minus of a string: NULL
	{"plus = 4", "T"},          // Integer.valueOf takes a leading +
	{"sp = 7", "E"},            // Integer.valueOf does not trim
	{"sp = 7.0", "T"},          // Double.valueOf does
	{"suffix = 1.5", "T"},      // Double.valueOf takes a trailing f
	{"hexf = 8.0", "T"},        // and hexadecimal with an exponent
	{"nan > 1.0", "T"},         // Double.compare: NaN above everything
	{"nan = 1.5", "F"},         //
	{"mzero = 0", "E"},         // Integer.valueOf("-0.0")
	{"mzero < 0.5", "T"},       //
	{"a > b", "T"},             // two strings ordered as Doubles: 10 > 9
	{"a = b", "F"},             // two strings compared as strings
	{"color > 1", "E"},         //
	{"color > b", "E"},         // Double.valueOf("blue")
	{"missing > 1", "N"},       //
	{"1 < missing", "N"},       //
	{"t = TRUE", "T"},          // String vs Boolean: Boolean.valueOf, case-insensitive
	{"color = FALSE", "T"},     // Boolean.valueOf("blue") is false
	{"TRUE = t", "E"},          // Boolean on the left, String on the right: ClassCastException
	{"1 = TRUE", "F"},          // Integer vs Boolean: compared as -1
	{"TRUE = TRUE", "T"},       //
	{"(n > 1) = TRUE", "T"},    //
	{"TRUE", "T"},              //
	{"FALSE", "F"},             //
	{"NULL", "N"},              //
	{"color", "F"},             // a property as a condition: a string is not a Boolean
	{"missing", "N"},           //
	{"NOT color", "T"},         //
	{"NOT missing", "N"},       //
	{"color IS NULL", "F"},     //
	{"missing IS NULL", "T"},   //
	{"missing IS NOT NULL", "F"},
	{"empty IS NOT NULL", "T"},
	{"empty = ''", "T"},
	{"q = 'it''s'", "T"}, // '' in a literal is a quote
	{"color IN ('red', 'blue')", "T"},
	{"color IN ('red')", "F"},
	{"color NOT IN ('red')", "T"},
	{"missing IN ('red')", "N"},
	{"missing NOT IN ('red')", "N"},
	{"color IN ('a','b','c','d','e','blue')", "T"},
	{"n BETWEEN 1 AND 5", "T"},
	{"n BETWEEN 6 AND 9", "F"},
	{"n NOT BETWEEN 6 AND 9", "T"},
	{"n BETWEEN -1 AND 5.5", "T"},
	{"missing BETWEEN 1 AND 2", "N"},
	{"n BETWEEN -1 AND -9", "F"}, // no literal check for unary minus: never true
	{"word CONTAINS 'lo w'", "T"},
	{"word CONTAINS 'xyz'", "F"},
	{"word NOT CONTAINS 'xyz'", "T"},
	{"word STARTSWITH 'hell'", "T"},
	{"word NOT STARTSWITH 'hell'", "F"},
	{"word ENDSWITH 'world'", "T"},
	{"word NOT ENDSWITH 'world'", "F"},
	{"missing CONTAINS 'x'", "F"},     // FALSE, not unknown
	{"missing NOT CONTAINS 'x'", "F"}, // in both forms
	{"NOT (missing CONTAINS 'x')", "T"},
	{"word CONTAINS ''", "F"}, // an empty search string never matches
	{"word NOT CONTAINS ''", "F"},
	{"'abc' CONTAINS 'b'", "T"},
	{"n CONTAINS '5'", "T"},
	// Three-valued logic and precedence (NOT > AND > OR).
	{"missing = 'x' OR TAGS = 'TagA'", "T"},
	{"missing = 'x' OR TAGS = 'TagB'", "N"},
	{"missing = 'x' AND TAGS = 'TagB'", "F"},
	{"missing = 'x' AND TAGS = 'TagA'", "N"},
	{"TAGS = 'TagB' AND n > 3 OR color = 'blue'", "T"},
	{"TAGS = 'TagB' AND (n > 3 OR color = 'blue')", "F"},
	{"color = 'blue' OR TAGS = 'TagB' AND n > 9", "T"},
	{"NOT TAGS = 'TagB'", "E"},             // (NOT TAGS) = 'TagB': Boolean vs String
	{"NOT (TAGS = 'TagB') AND n = 5", "T"}, //
	{"NOT NOT (n = 5)", "T"},               //
	{"f = 2 OR TRUE", "E"},                 // an error is not unknown: it ends the evaluation
	{"TRUE OR f = 2", "T"},                 // unless the left side decided
	{"FALSE AND f = 2", "F"},               //
	{"(TAGS = 'TagA' AND n > 3) OR color = 'blue'", "T"},
	{"tAgS = 'TagA' aNd n > 3", "N"}, // keywords in any case
	{"TAGS = 'TagA' and n between 4 and 6 or false", "T"},
	{"+n = 5", "T"},
	{"n = 5 -- a comment\n", "T"},
	{"n /* a comment */ = 5", "T"},
	{"n = 5 AND TAGS = 'TagA' trailing tokens are not read", "T"},
	{"n = 5 garbage", "T"},
	{"KEYS = 'k1 k2'", "T"},
	{"$x IS NULL AND _y IS NULL", "T"},
	{"n > 4.9E0", "T"},
	{".5 < f", "T"},
	{"5. = n", "T"},
	{"n = 5l", "T"},
}

func TestEvaluate(t *testing.T) {
	for _, c := range evalCases {
		e, err := Parse(c.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.expr, err)
			continue
		}
		res, known, err := e.Eval(MapLookup(props))
		got := "N"
		switch {
		case err != nil:
			got = "E"
		case known && res:
			got = "T"
		case known:
			got = "F"
		}
		if got != c.want {
			t.Errorf("%q = %s, want %s (err %v)", c.expr, got, c.want, err)
		}
		if e.Match(MapLookup(props)) != (c.want == "T") {
			t.Errorf("Match(%q) = %v", c.expr, !(c.want == "T"))
		}
	}
}

// badExprs are selectors the broker's parser refuses.
var badExprs = []string{
	"",                        // nothing
	"   ",                     //
	"n =",                     // missing operand
	"n = 5 AND",               //
	"(n = 5",                  // unclosed
	"n = 'abc",                // unterminated string
	"n = 5 #",                 // the one token peeked after the end is not a token
	"n == 5",                  // = then = : no operand
	"n != 5",                  // ! is no token
	"n = NULL",                // NULL is no operand of =
	"NULL = n",                //
	"n <> NULL",               //
	"TRUE = 1",                // a Boolean literal compared with a non-condition literal
	"n > 'x'",                 // ordering a string literal
	"n > TRUE",                //
	"n > NULL",                //
	"(n = 1) > 0",             // ordering a condition
	"n CONTAINS 'x' > 1",      //
	"n BETWEEN 5 AND 1",       // literals out of order
	"n BETWEEN NULL AND 1",    //
	"n BETWEEN 'a' AND 'b'",   //
	"n BETWEEN 1 AND 'x'",     //
	"n BETWEEN 1",             //
	"'x' IN ('x')",            // IN needs a property
	"n IN (1, 2)",             // IN takes string literals only
	"n IN ()",                 //
	"n IN 'x'",                //
	"n CONTAINS x",            // CONTAINS takes a string literal
	"n NOT = 5",               // NOT in a comparison only before CONTAINS, STARTSWITH, ENDSWITH, BETWEEN, IN
	"n = 5 NOT x",             //
	"5",                       // not a condition
	"'x'",                     //
	"-n",                      //
	"n = 5 OR 7",              //
	"NOT 5",                   //
	"n > 0.0",                 // below Double.MIN_VALUE: refused (ConstantExpression.createFloat)
	"n > 1e999",               // above Double.MAX_VALUE
	"n > 9223372036854775808", // past Long
	"n IS 5",                  //
	"n IS NOT 5",              //
}

func TestParseErrors(t *testing.T) {
	for _, expr := range badExprs {
		if _, err := Parse(expr); err == nil {
			t.Errorf("Parse(%q) succeeded", expr)
		} else if !strings.Contains(err.Error(), ": ") {
			t.Errorf("Parse(%q): %v", expr, err)
		}
	}
}

// TestTrailingDashes: "--" needs a line end to be a comment; without one the dashes are
// minus tokens, which end the expression as any token that cannot continue it does.
func TestTrailingDashes(t *testing.T) {
	e, err := Parse("n = 5 -- no line end")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Match(MapLookup(props)) {
		t.Fatal("no match")
	}
}

func TestBounds(t *testing.T) {
	deep := strings.Repeat("(", MaxDepth+1) + "n = 5" + strings.Repeat(")", MaxDepth+1)
	if _, err := Parse(deep); err == nil {
		t.Error("nesting past MaxDepth parsed")
	}
	ok := strings.Repeat("(", MaxDepth/2) + "n = 5" + strings.Repeat(")", MaxDepth/2)
	if _, err := Parse(ok); err != nil {
		t.Errorf("nesting %d: %v", MaxDepth/2, err)
	}
	if _, err := Parse(strings.Repeat("NOT ", MaxDepth+1) + "TRUE"); err == nil {
		t.Error("NOT chain past MaxDepth parsed")
	}
	long := "n = 5" + strings.Repeat(" ", MaxLen)
	if _, err := Parse(long); err == nil {
		t.Error("expression past MaxLen parsed")
	}
	chain := "n = 5" + strings.Repeat(" AND n = 5", 3000)
	e, err := Parse(chain)
	if err != nil || !e.Match(MapLookup(props)) {
		t.Errorf("long AND chain: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"(TAGS = 'TagA' AND n > 3) OR color = 'blue'", "a IN ('x','y') AND b NOT BETWEEN 1 AND 2",
		"a IS NOT NULL OR NOT (b CONTAINS 'x')", "-a > +1.5E3 -- c\n", "/* x */ a = 'it''s'",
		"a NOT STARTSWITH 'x' AND b ENDSWITH 'y'", "TRUE", "a = 5000000000L", "((((a))))",
	} {
		f.Add(s, "a", "5")
	}
	f.Fuzz(func(t *testing.T, expr, k, v string) {
		e, err := Parse(expr)
		if err != nil {
			if e != nil {
				t.Fatal("expression with an error")
			}
			return
		}
		m := map[string]string{k: v, "TAGS": v, "a": v, "b": k}
		res, known, err := e.Eval(MapLookup(m))
		if e.Match(MapLookup(m)) != (err == nil && known && res) {
			t.Fatal("Match disagrees with Eval")
		}
	})
}
