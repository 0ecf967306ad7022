package kafka_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
)

// TestOAuthBearerStockClients: confluent-kafka (its oauth_cb) and Kafka's
// Java console producer (OAuthBearerLoginCallbackHandler, KIP-768) fetch a
// token from an identity provider's token endpoint with their standard
// settings and log in to a gateway that checks it against the provider's
// JWKS (--auth-jwks-file) and audience; a token for another audience, and
// librdkafka's unsigned development token (kcat), are refused.
func TestOAuthBearerStockClients(t *testing.T) {
	need(t, "kcat", "-V")
	cp := kafkaToolsClasspath(t)
	key := jwttest.NewKey(t, "idp-1")
	dir := t.TempDir()
	jwks := jwttest.WriteJWKS(t, key)
	// The identity provider's token endpoint (client credentials grant).
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		if !ok {
			id, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
		}
		if id != "orders-svc" || secret != "orders-secret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		aud := "kafka"
		if strings.HasSuffix(r.URL.Path, "/other") {
			aud = "elsewhere"
		}
		s := key.Sign(t, jwttest.Claims(id, time.Hour, "aud", aud, "iss", "test-idp", "scope", "kafka"))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": s, "token_type": "Bearer", "expires_in": 3600})
	}))
	defer idp.Close()
	addr := startGateway(t, "embedded", "--auth-jwks-file", jwks, "--auth-jwt-audience", "kafka")

	// confluent-kafka (librdkafka) with its standard oauth_cb: Debian's
	// librdkafka is built without its own OIDC client.
	need(t, python, "-c", "import confluent_kafka")
	pyOut := run(t, strings.NewReader(bearerPy), python, "-", addr, idp.URL+"/token", "bearer-py")
	if strings.TrimSpace(pyOut) != "ok" {
		t.Fatalf("confluent-kafka: %s", pyOut)
	}

	props := filepath.Join(dir, "client.properties")
	if err := os.WriteFile(props, []byte(strings.Join([]string{
		"security.protocol=SASL_PLAINTEXT", "sasl.mechanism=OAUTHBEARER",
		"sasl.oauthbearer.token.endpoint.url=" + idp.URL + "/token",
		"sasl.login.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler",
		`sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="orders-svc" clientSecret="orders-secret";`,
	}, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, strings.NewReader("three\n"), "java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dlog4j2.level=warn",
		"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls="+idp.URL+"/token", "-cp", cp,
		"org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", addr, "--topic", "bearer-java", "--producer.config", props)
	if out := run(t, strings.NewReader(bearerPy), python, "-", addr, idp.URL+"/token", "bearer-java", "three"); strings.TrimSpace(out) != "ok" {
		t.Fatalf("what the Java producer sent, read by confluent-kafka: %s", out)
	}

	// Refused: a token for another audience (confluent-kafka), and
	// librdkafka's unsigned development token (kcat).
	if out := run(t, strings.NewReader(bearerPy), python, "-", addr, idp.URL+"/token/other", "bearer-py", "refused"); strings.TrimSpace(out) != "refused" {
		t.Fatalf("a token for another audience: %s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bad := exec.CommandContext(ctx, "kcat", "-b", addr, "-L", "-m", "5", "-X", "security.protocol=SASL_PLAINTEXT",
		"-X", "sasl.mechanisms=OAUTHBEARER", "-X", "enable.sasl.oauthbearer.unsecure.jwt=true",
		"-X", "sasl.oauthbearer.config=principal=orders-svc")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(strings.ToLower(string(out)), "authentication") {
		t.Fatalf("an unsigned token: err %v, output:\n%s", err, out)
	}
}

// bearerPy: confluent-kafka with an oauth_cb that asks the token endpoint
// (client credentials). Arguments: bootstrap, endpoint, topic, and what to
// check: nothing (produce one record and read it back), a value to read,
// or "refused" (the login must fail). Prints ok, or refused.
const bearerPy = `
import base64, json, sys, time, urllib.request
from confluent_kafka import Consumer, KafkaException, Producer
addr, endpoint, topic = sys.argv[1:4]
want = sys.argv[4] if len(sys.argv) > 4 else None
def oauth_cb(_):
    req = urllib.request.Request(endpoint, data=b"grant_type=client_credentials", headers={
        "Authorization": "Basic " + base64.b64encode(b"orders-svc:orders-secret").decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    body = json.load(urllib.request.urlopen(req))
    return body["access_token"], time.time() + body["expires_in"]
errors = []
conf = {"bootstrap.servers": addr, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "OAUTHBEARER",
        "oauth_cb": oauth_cb, "error_cb": lambda e: errors.append(e)}
if want == "refused":
    p = Producer(conf)
    p.produce(topic, b"x")
    p.flush(10)
    assert any(e.code() == -169 or "uthenticat" in e.str() for e in errors), errors  # _AUTHENTICATION
    print("refused")
    sys.exit(0)
if want is None:
    p = Producer(conf)
    p.produce(topic, b"py")
    assert p.flush(30) == 0, "not delivered"
    want = "py"
c = Consumer(dict(conf, **{"group.id": "g-" + topic, "auto.offset.reset": "earliest"}))
c.subscribe([topic])
deadline = time.time() + 30
while time.time() < deadline:
    m = c.poll(1)
    if m is None or m.error():
        continue
    assert m.value().decode() == want, m.value()
    print("ok")
    break
else:
    sys.exit("nothing read: %s" % errors)
c.close()
`
