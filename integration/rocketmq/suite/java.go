package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// javaScenarioNames are Suite.java's scenarios, in its order (-run filters them as java/NAME).
var javaScenarioNames = []string{"send-modes", "batch", "tag-expression", "ordered", "rebalance", "offsets-restart",
	"broadcast", "lite-pull-seek", "delay", "retry-dlq", "sql92", "compression"}

// javaDir is this program's java/ folder (Suite.java and the pom that resolves the client):
// -java-dir, else the folder this file was compiled from.
func javaDir() string {
	if *javaDirFlag != "" {
		return *javaDirFlag
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "java")
}

// buildJava resolves rocketmq-client 5.1.4 with mvn (java/pom.xml), compiles Suite.java and
// returns the classpath to run it with.
func buildJava(ctx context.Context, dir string) (string, error) {
	for _, tool := range []string{"java", "javac", "mvn"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("no %s on PATH (scripts/test.sh installs a JDK and maven)", tool)
		}
	}
	src := javaDir()
	cpFile := filepath.Join(dir, "classpath")
	mvn := exec.CommandContext(ctx, "mvn", "-B", "-q", "-f", filepath.Join(src, "pom.xml"), "dependency:build-classpath", "-Dmdep.outputFile="+cpFile)
	if out, err := mvn.CombinedOutput(); err != nil {
		return "", fmt.Errorf("resolving rocketmq-client 5.1.4: %v\n%s", err, out)
	}
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		return "", err
	}
	classes := filepath.Join(dir, "classes")
	javac := exec.CommandContext(ctx, "javac", "-nowarn", "-encoding", "UTF-8", "-cp", string(cp), "-d", classes, filepath.Join(src, "Suite.java"))
	if out, err := javac.CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac: %v\n%s", err, out)
	}
	return string(cp) + string(os.PathListSeparator) + classes, nil
}

var javaResult = regexp.MustCompile(`^(ok  |FAIL) (\S+) \(([0-9.]+)s\)(?:: (.*))?$`)

// runJava runs Suite.java's scenarios in one JVM and reports each as java/NAME. Lines of a
// scenario come before its result line; they are its log.
func runJava(ctx context.Context, e *env, scenarios []string) error {
	dir, err := os.MkdirTemp("", "rocketmq-suite-java")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := buildJava(ctx, dir)
	if err != nil {
		return err
	}
	// user.home: the client's logs and broadcasting offsets go there, not into ~.
	cmd := exec.CommandContext(ctx, "java", "-Duser.home="+dir, "-Drocketmq.client.logUseSlf4j=false",
		"-Drocketmq.client.logLevel=ERROR", "-cp", cp, "Suite", strings.Join(e.namesrv, ";"), e.prefix+"-java", strings.Join(scenarios, ","))
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := map[string]bool{}
	l := &logger{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		m := javaResult.FindStringSubmatch(line)
		if m == nil {
			l.Printf("%s", strings.TrimPrefix(line, "    "))
			continue
		}
		secs, _ := strconv.ParseFloat(m[3], 64)
		d := time.Duration(secs * float64(time.Second))
		var rerr error
		if m[1] == "FAIL" {
			rerr = fmt.Errorf("%s", m[4])
		} else if m[4] != "" {
			reportNote(l, m[4])
		}
		report("java/"+m[2], d, rerr, l)
		done[m[2]] = true
		l = &logger{}
	}
	werr := cmd.Wait()
	var lost []string
	for _, n := range scenarios {
		if !done[n] {
			lost = append(lost, n)
		}
	}
	if len(lost) > 0 || werr != nil {
		if ctx.Err() != nil {
			werr = fmt.Errorf("timed out: %w", werr)
		}
		return fmt.Errorf("the Java client's run ended (%v) without a result for %v\n%s", werr, lost, l.String())
	}
	return nil
}
