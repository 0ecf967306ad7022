// Package jwttest makes signing keys, their JSON Web Key Sets and signed
// tokens for tests of token logins.
package jwttest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is an RSA signing key named kid.
type Key struct {
	KID string
	RSA *rsa.PrivateKey
}

// NewKey makes a 2048-bit key.
func NewKey(tb testing.TB, kid string) *Key {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return &Key{kid, k}
}

// JWKS is the public keys' set, as an identity provider serves it.
func JWKS(keys ...*Key) string {
	var jwks []string
	for _, k := range keys {
		jwks = append(jwks, fmt.Sprintf(`{"kty":"RSA","kid":%q,"use":"sig","alg":"RS256","n":%q,"e":%q}`, k.KID,
			base64.RawURLEncoding.EncodeToString(k.RSA.N.Bytes()),
			base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.RSA.E)).Bytes())))
	}
	return `{"keys":[` + strings.Join(jwks, ",") + `]}`
}

// WriteJWKS writes the keys' set to a file of a test's temporary folder.
func WriteJWKS(tb testing.TB, keys ...*Key) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "jwks.json")
	if err := os.WriteFile(path, []byte(JWKS(keys...)), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Sign signs claims with RS256 under the key's kid.
func (k *Key) Sign(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.KID
	s, err := tok.SignedString(k.RSA)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Claims are a subject's claims expiring in exp (negative: expired),
// with extra name, value pairs.
func Claims(sub string, exp time.Duration, extra ...any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": sub, "exp": time.Now().Add(exp).Unix(), "iat": time.Now().Unix()}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}
