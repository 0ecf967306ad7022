package kafka

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/pulsar-gateway/pulsar-gateway/bridge/embedded"
	"github.com/pulsar-gateway/pulsar-gateway/jwtauth"
)

// OAUTHBEARER as Kafka's KIP-768 validator: a token signed by a key of the
// JWKS, for this audience, not expired, logs in as its subject (and may
// produce); an expired one, one for another audience or signed by another
// key is SASL_AUTHENTICATION_FAILED; PLAIN is not offered without users.
func TestOAuthBearer(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":%q,"e":%q}]}`,
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()), base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()))
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, []byte(jwks), 0o600); err != nil {
		t.Fatal(err)
	}
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
	sign := func(k *rsa.PrivateKey, aud string, exp time.Duration) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "svc-orders", "aud": aud, "exp": time.Now().Add(exp).Unix()})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
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
