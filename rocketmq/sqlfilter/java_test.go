package sqlfilter

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgainstRocketMQFilter runs the table tests' expressions and 20000 generated ones
// (every operator, literal kind and property kind, nested) through RocketMQ 5.1.4's own
// filter module (testdata/java/Eval.java in a JVM) and through this package: each must be
// refused by both, or give the same value (TRUE, FALSE, NULL or an evaluation error).
func TestAgainstRocketMQFilter(t *testing.T) {
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("no %s: scripts/test.sh installs a JDK and maven", tool)
		}
	}
	dir := t.TempDir()
	cpFile := filepath.Join(dir, "classpath")
	if out, err := exec.Command("mvn", "-B", "-q", "-o", "-f", "testdata/java/pom.xml", "dependency:build-classpath",
		"-Dmdep.outputFile="+cpFile).CombinedOutput(); err != nil {
		if out2, err2 := exec.Command("mvn", "-B", "-q", "-f", "testdata/java/pom.xml", "dependency:build-classpath",
			"-Dmdep.outputFile="+cpFile).CombinedOutput(); err2 != nil {
			t.Fatalf("resolving rocketmq-filter 5.1.4: %v\n%s\n%s", err, out, out2)
		}
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("javac", "-cp", string(cp), "-d", dir, "testdata/java/Eval.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}

	exprs := append([]string{}, badExprs...)
	for _, c := range evalCases {
		exprs = append(exprs, c.expr)
	}
	g := &exprGen{state: 0x9E3779B97F4A7C15}
	for i := 0; i < 20000; i++ {
		exprs = append(exprs, g.cond(0))
	}
	var in bytes.Buffer
	var pairs []string
	for k, v := range props {
		pairs = append(pairs, k+"\x01"+v)
	}
	in.WriteString(hex.EncodeToString([]byte(strings.Join(pairs, "\x02"))) + "\n")
	for _, e := range exprs {
		in.WriteString(hex.EncodeToString([]byte(e)) + "\n")
	}
	cmd := exec.Command("java", "-cp", string(cp)+string(os.PathListSeparator)+dir, "Eval")
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java Eval: %v\n%s", err, stderr.Bytes())
	}
	java := strings.Fields(string(out))
	if len(java) != len(exprs) {
		t.Fatalf("java answered %d of %d", len(java), len(exprs))
	}
	counts := map[string]int{}
	bad := 0
	for i, e := range exprs {
		got := evalCode(e)
		counts[got]++
		if got != java[i] {
			if bad++; bad <= 20 {
				t.Errorf("%q: %s here, %s in RocketMQ", e, got, java[i])
			}
		}
	}
	t.Logf("%d expressions, %d differ; results here: %v", len(exprs), bad, counts)
}

// evalCode is an expression's result on props as Eval.java writes it.
func evalCode(s string) string {
	e, err := Parse(s)
	if err != nil {
		return "P"
	}
	res, known, err := e.Eval(MapLookup(props))
	switch {
	case err != nil:
		return "E"
	case !known:
		return "N"
	case res:
		return "T"
	}
	return "F"
}

// exprGen makes random selectors over props' names and literals of every kind.
type exprGen struct{ state uint64 }

func (g *exprGen) n(k int) int {
	g.state ^= g.state << 13
	g.state ^= g.state >> 7
	g.state ^= g.state << 17
	return int(g.state % uint64(k))
}

func (g *exprGen) pick(xs ...string) string { return xs[g.n(len(xs))] }

var genNames = []string{"TAGS", "n", "big", "f", "neg", "color", "word", "t", "sp", "nan", "q", "zero",
	"mzero", "hexf", "suffix", "plus", "empty", "a", "b", "missing"}

func (g *exprGen) operand(d int) string {
	switch g.n(9) {
	case 0, 1, 2:
		return genNames[g.n(len(genNames))]
	case 3:
		return g.pick("0", "1", "3", "5", "10", "2147483647", "2147483648", "5000000000", "5000000000L", "7l", "9")
	case 4:
		return g.pick("2.5", "5.0", "0.5", "1e3", ".5", "5.", "1E-3", "0.0", "2.5E0")
	case 5:
		return g.pick("'TagA'", "'blue'", "'5'", "'it''s'", "''", "'2.5'", "'x'", "'true'", "'TRUE'")
	case 6:
		return g.pick("TRUE", "FALSE", "NULL")
	case 7:
		return g.pick("-", "+") + g.operand(d+1)
	}
	if d < 3 {
		return "(" + g.cond(d+1) + ")"
	}
	return genNames[g.n(len(genNames))]
}

func (g *exprGen) cond(d int) string {
	if d > 3 {
		return g.operand(d) + " = " + g.operand(d)
	}
	switch g.n(12) {
	case 0:
		return g.cond(d+1) + g.pick(" AND ", " and ") + g.cond(d+1)
	case 1:
		return g.cond(d+1) + g.pick(" OR ", " Or ") + g.cond(d+1)
	case 2:
		return "NOT " + g.cond(d+1)
	case 3:
		return g.operand(d) + g.pick(" IS NULL", " IS NOT NULL")
	case 4:
		return g.operand(d) + g.pick(" BETWEEN ", " NOT BETWEEN ") + g.operand(d) + " AND " + g.operand(d)
	case 5:
		return g.operand(d) + g.pick(" IN ", " NOT IN ") + "('TagA', 'blue', '5', 'x')"
	case 6:
		return g.operand(d) + g.pick(" CONTAINS ", " NOT CONTAINS ", " STARTSWITH ", " NOT STARTSWITH ", " ENDSWITH ", " NOT ENDSWITH ") +
			g.pick("'l'", "''", "'Tag'", "'5'")
	case 7:
		return g.operand(d)
	case 8:
		return "(" + g.cond(d+1) + ")"
	}
	return g.operand(d) + " " + g.pick("=", "<>", ">", ">=", "<", "<=") + " " + g.operand(d)
}
