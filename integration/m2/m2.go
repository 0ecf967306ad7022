// Package m2 finds jars in the local Maven repository (~/.m2), for tests
// that run Java clients fetched with mvn dependency:get.
package m2

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Classpath joins the newest jar matching each glob (relative to
// ~/.m2/repository); ok is false when one has no match.
func Classpath(globs ...string) (string, bool) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", false
	}
	repo := filepath.Join(home, ".m2", "repository")
	jars := make([]string, 0, len(globs))
	for _, g := range globs {
		found, _ := filepath.Glob(filepath.Join(repo, g))
		if len(found) == 0 {
			return "", false
		}
		sort.Strings(found)
		jars = append(jars, found[len(found)-1])
	}
	return strings.Join(jars, string(os.PathListSeparator)), true
}

// RabbitMQClient is the classpath of RabbitMQ's Java client: amqp-client
// 5.x and slf4j (api and nop) 2.x.
func RabbitMQClient() (string, bool) {
	return Classpath(
		"com/rabbitmq/amqp-client/5.*/amqp-client-5.*[0-9].jar",
		"org/slf4j/slf4j-api/2.*/slf4j-api-2.*[0-9].jar",
		"org/slf4j/slf4j-nop/2.*/slf4j-nop-2.*[0-9].jar",
	)
}

// CompileRabbitMQClient compiles Java sources against RabbitMQ's Java
// client (RabbitMQClient) and returns the classpath to run them with. It
// fails tb without a JDK or the jars: scripts/test.sh installs
// openjdk-17-jdk-headless and fetches them with mvn dependency:get.
func CompileRabbitMQClient(tb testing.TB, sources ...string) string {
	tb.Helper()
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("no %s: install a JDK (scripts/test.sh installs openjdk-17-jdk-headless)", tool)
		}
	}
	cp, ok := RabbitMQClient()
	if !ok {
		tb.Fatal("com.rabbitmq:amqp-client 5.x and slf4j 2.x are not in ~/.m2 (scripts/test.sh fetches them)")
	}
	classes := tb.TempDir()
	if out, err := exec.Command("javac", append([]string{"-cp", cp, "-d", classes}, sources...)...).CombinedOutput(); err != nil {
		tb.Fatalf("javac: %v\n%s", err, out)
	}
	return cp + string(os.PathListSeparator) + classes
}
