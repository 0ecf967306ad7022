package jwtauth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsar-gateway/pulsar-gateway/jwtauth/jwttest"
)

// What Kafka's validator accepts and refuses, with a key set from a file.
func TestValidate(t *testing.T) {
	k1, other := jwttest.NewKey(t, "k1"), jwttest.NewKey(t, "other")
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, []byte(jwttest.JWKS(k1)), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{JWKSFile: file, Audience: "kafka", Issuer: "https://idp"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	good := jwttest.Claims("alice", time.Minute, "aud", "kafka", "iss", "https://idp")
	if p, err := v.Validate(k1.Sign(t, good)); err != nil || p != "alice" {
		t.Fatalf("a good token: %q %v", p, err)
	}
	noExp := jwttest.Claims("alice", time.Minute, "aud", "kafka", "iss", "https://idp")
	delete(noExp, "exp")
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hs.Header["kid"] = "k1"
	hsTok, _ := hs.SignedString([]byte("secret"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for what, tok := range map[string]string{
		"expired":          k1.Sign(t, jwttest.Claims("alice", -time.Hour, "aud", "kafka", "iss", "https://idp")),
		"without exp":      k1.Sign(t, noExp),
		"another audience": k1.Sign(t, jwttest.Claims("alice", time.Minute, "aud", "other", "iss", "https://idp")),
		"another issuer":   k1.Sign(t, jwttest.Claims("alice", time.Minute, "aud", "kafka", "iss", "https://evil")),
		"an unknown key":   other.Sign(t, good),
		"no subject":       k1.Sign(t, jwttest.Claims("", time.Minute, "aud", "kafka", "iss", "https://idp")),
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
	if err := os.WriteFile(file, []byte(jwttest.JWKS(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := v.Validate(other.Sign(t, good)); err != nil || p != "alice" {
		t.Fatalf("a token of the rotated-in key: %q %v", p, err)
	}
	if _, err := v.Validate(k1.Sign(t, good)); err == nil {
		t.Fatal("a token of the rotated-out key is still accepted")
	}
}

// A key set from a URL, and a subject claim of another name.
func TestValidateJWKSURL(t *testing.T) {
	k := jwttest.NewKey(t, "u1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(jwttest.JWKS(k)))
	}))
	defer srv.Close()
	v, err := New(Options{JWKSURL: srv.URL, SubjectClaim: "client_id"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if p, err := v.Validate(k.Sign(t, jwttest.Claims("ignored", time.Minute, "client_id", "svc-1"))); err != nil || p != "svc-1" {
		t.Fatalf("from a URL's key set: %q %v", p, err)
	}
}

func FuzzValidate(f *testing.F) {
	k := jwttest.NewKey(f, "f")
	file := filepath.Join(f.TempDir(), "jwks.json")
	os.WriteFile(file, []byte(jwttest.JWKS(k)), 0o600)
	v, err := New(Options{JWKSFile: file})
	if err != nil {
		f.Fatal(err)
	}
	good := k.Sign(f, jwttest.Claims("a", time.Minute))
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		if p, err := v.Validate(tok); err == nil && tok != good {
			t.Fatalf("%q accepted as %q", tok, p)
		}
	})
}
