package jwtauth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// key is a signing key; jwks gives its public JWK.
type key struct {
	kid string
	rsa *rsa.PrivateKey
}

func newKey(t testing.TB, kid string) key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key{kid, k}
}

func jwks(keys ...key) string {
	out := `{"keys":[`
	for i, k := range keys {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf(`{"kty":"RSA","kid":%q,"use":"sig","alg":"RS256","n":%q,"e":%q}`, k.kid,
			base64.RawURLEncoding.EncodeToString(k.rsa.N.Bytes()),
			base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.rsa.E)).Bytes()))
	}
	return out + "]}"
}

func (k key) sign(t testing.TB, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(sub string, exp time.Duration, extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": time.Now().Add(exp).Unix(), "iat": time.Now().Unix()}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

// What Kafka's validator accepts and refuses, with a key set from a file.
func TestValidate(t *testing.T) {
	k1, other := newKey(t, "k1"), newKey(t, "other")
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, []byte(jwks(k1)), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{JWKSFile: file, Audience: "kafka", Issuer: "https://idp"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	good := claims("alice", time.Minute, "aud", "kafka", "iss", "https://idp")
	if p, err := v.Validate(k1.sign(t, good)); err != nil || p != "alice" {
		t.Fatalf("a good token: %q %v", p, err)
	}
	noExp := claims("alice", time.Minute, "aud", "kafka", "iss", "https://idp")
	delete(noExp, "exp")
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hs.Header["kid"] = "k1"
	hsTok, _ := hs.SignedString([]byte("secret"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for what, tok := range map[string]string{
		"expired":          k1.sign(t, claims("alice", -time.Hour, "aud", "kafka", "iss", "https://idp")),
		"without exp":      k1.sign(t, noExp),
		"another audience": k1.sign(t, claims("alice", time.Minute, "aud", "other", "iss", "https://idp")),
		"another issuer":   k1.sign(t, claims("alice", time.Minute, "aud", "kafka", "iss", "https://evil")),
		"an unknown key":   other.sign(t, good),
		"no subject":       k1.sign(t, claims("", time.Minute, "aud", "kafka", "iss", "https://idp")),
		"HS256":            hsTok,
		"alg none":         none,
		"not a JWT":        "abc.def",
	} {
		if p, err := v.Validate(tok); err == nil {
			t.Errorf("%s: accepted as %q", what, p)
		}
	}
	// Keys rotate: the file's new set is used at the next token.
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(file, []byte(jwks(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := v.Validate(other.sign(t, good)); err != nil || p != "alice" {
		t.Fatalf("a token of the rotated-in key: %q %v", p, err)
	}
	if _, err := v.Validate(k1.sign(t, good)); err == nil {
		t.Fatal("a token of the rotated-out key is still accepted")
	}
}

// A key set from a URL, and a subject claim of another name.
func TestValidateJWKSURL(t *testing.T) {
	k := newKey(t, "u1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(jwks(k)))
	}))
	defer srv.Close()
	v, err := New(Options{JWKSURL: srv.URL, SubjectClaim: "client_id"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if p, err := v.Validate(k.sign(t, claims("ignored", time.Minute, "client_id", "svc-1"))); err != nil || p != "svc-1" {
		t.Fatalf("from a URL's key set: %q %v", p, err)
	}
}

func FuzzValidate(f *testing.F) {
	k := newKey(f, "f")
	file := filepath.Join(f.TempDir(), "jwks.json")
	os.WriteFile(file, []byte(jwks(k)), 0o600)
	v, err := New(Options{JWKSFile: file})
	if err != nil {
		f.Fatal(err)
	}
	good := k.sign(f, claims("a", time.Minute))
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		if p, err := v.Validate(tok); err == nil && tok != good {
			t.Fatalf("%q accepted as %q", tok, p)
		}
	})
}
