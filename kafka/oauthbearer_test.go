package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
)

// OAUTHBEARER as Kafka's KIP-768 validator: a token signed by a key of the
// JWKS, for this audience, not expired, logs in as its subject (and may
// produce); an expired one, one for another audience or signed by another
// key is SASL_AUTHENTICATION_FAILED; PLAIN is not offered without users.
func TestOAuthBearer(t *testing.T) {
	key, other := jwttest.NewKey(t, "k1"), jwttest.NewKey(t, "k1")
	file := jwttest.WriteJWKS(t, key)
	v, err := jwtauth.New(jwtauth.Options{JWKSFile: file, Audience: "kafka"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	b, err := embedded.Open(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	addr := serveWith(t, b, func(o *Options) { o.Tokens = v })
	sign := func(k *jwttest.Key, aud string, exp time.Duration) string {
		return k.Sign(t, jwttest.Claims("svc-orders", exp, "aud", aud))
	}
	cl := newClient(t, addr, kgo.SASL(oauth.Auth{Token: sign(key, "kafka", time.Minute)}.AsMechanism()))
	createTopic(t, cl, "bearer", 1)
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "bearer", Value: []byte("hi")}).FirstErr(); err != nil {
		t.Fatalf("produce with a good token: %v", err)
	}
	for what, m := range map[string]kgo.Opt{
		"an expired token":             kgo.SASL(oauth.Auth{Token: sign(key, "kafka", -time.Hour)}.AsMechanism()),
		"a token for another audience": kgo.SASL(oauth.Auth{Token: sign(key, "other", time.Minute)}.AsMechanism()),
		"a token of another key":       kgo.SASL(oauth.Auth{Token: sign(other, "kafka", time.Minute)}.AsMechanism()),
		"PLAIN without users":          kgo.SASL(plain.Auth{User: "svc-orders", Pass: "x"}.AsMechanism()),
	} {
		bad := newClient(t, addr, m, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
		err := bad.Ping(shortCtx(t))
		if !errors.Is(err, kerr.SaslAuthenticationFailed) && !errors.Is(err, kerr.UnsupportedSaslMechanism) {
			t.Errorf("%s: %v, want a refused login", what, err)
		}
		bad.Close()
	}
}
