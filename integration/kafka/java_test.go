package kafka_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pulsar-gateway/pulsar-gateway/integration/m2"
)

// javaClasspath finds kafka-clients 4.x and its runtime dependencies in the
// local Maven repository (fetch them with
// mvn dependency:get -Dartifact=org.apache.kafka:kafka-clients:4.4.0 and
// -Dartifact=org.slf4j:slf4j-nop:2.0.17); ok is false when one is missing.
func javaClasspath() (string, bool) {
	return m2.Classpath(
		"org/apache/kafka/kafka-clients/4.*/kafka-clients-4.*[0-9].jar",
		"org/slf4j/slf4j-api/2.*/slf4j-api-2.*[0-9].jar",
		"org/slf4j/slf4j-nop/2.*/slf4j-nop-2.*[0-9].jar",
		"at/yawk/lz4/lz4-java/*/lz4-java-*[0-9].jar",
		"com/github/luben/zstd-jni/*/zstd-jni-*[0-9].jar",
		"org/xerial/snappy/snappy-java/*/snappy-java-*[0-9].jar",
	)
}

func TestJavaClient(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		t.Fatal("no java: install a JDK (scripts/test.sh installs openjdk-17-jdk-headless)")
	}
	cp, ok := javaClasspath()
	if !ok {
		t.Fatal("kafka-clients 4.x and its dependencies are not in ~/.m2 (scripts/test.sh fetches them)")
	}
	eachBackend(t, func(t *testing.T, addr, suffix string) {
		// Each run starts a JVM: snappy (Java's xerial framing) and zstd here;
		// the other codecs are covered by the other clients.
		for _, codec := range []string{"snappy", "zstd"} {
			out := run(t, nil, "java", "-cp", cp, "testdata/JavaRoundtrip.java", addr, "java-"+codec+suffix, codec, "java-group"+suffix)
			t.Logf("%s: %s", codec, strings.TrimSpace(out))
		}
	})
}
