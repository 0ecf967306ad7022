// Package jwtauth checks JSON Web Tokens as Kafka's OAUTHBEARER validator
// does (KIP-768, OAuthBearerValidatorCallbackHandler): the signature
// against a JSON Web Key Set (a file, re-read when it changes, or a URL,
// refreshed), an expiry that must be there, the audience and issuer when
// configured, and a subject claim that names the principal. The JWT and
// JWKS work is golang-jwt's and keyfunc's.
package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Options say where keys come from and what a token must claim.
type Options struct {
	// JWKSFile is a JSON Web Key Set file; a change is seen at the next
	// token. JWKSURL is fetched and refreshed in the background. One of
	// the two is needed.
	JWKSFile string
	JWKSURL  string
	// Audience, when set, must be among the token's "aud".
	Audience string
	// Issuer, when set, must be the token's "iss".
	Issuer string
	// SubjectClaim names the principal's claim ("sub" when empty).
	SubjectClaim string
	// ClockSkew is the leeway on "exp", "nbf" and "iat" (30 s when 0,
	// Kafka's sasl.oauthbearer.clock.skew.seconds).
	ClockSkew time.Duration
}

// Validator checks tokens; it is safe for concurrent use.
type Validator struct {
	opts   Options
	cancel context.CancelFunc

	mu       sync.Mutex
	keys     keyfunc.Keyfunc // the URL's, or the file's as last read
	fileMod  time.Time
	fileSize int64
}

// asymmetric are the algorithms a key set's public keys verify; "none"
// and the HMAC ones (a shared secret in a key set) are refused.
var asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// New opens the key set.
func New(opts Options) (*Validator, error) {
	if opts.SubjectClaim == "" {
		opts.SubjectClaim = "sub"
	}
	if opts.ClockSkew == 0 {
		opts.ClockSkew = 30 * time.Second
	}
	v := &Validator{opts: opts, cancel: func() {}}
	switch {
	case opts.JWKSFile != "" && opts.JWKSURL != "":
		return nil, errors.New("jwtauth: a JWKS file or a JWKS URL, not both")
	case opts.JWKSURL != "":
		ctx, cancel := context.WithCancel(context.Background())
		k, err := keyfunc.NewDefaultCtx(ctx, []string{opts.JWKSURL})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("jwtauth: JWKS %s: %w", opts.JWKSURL, err)
		}
		v.keys, v.cancel = k, cancel
	case opts.JWKSFile != "":
		if _, err := v.fileKeys(); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("jwtauth: no JWKS file or URL")
	}
	return v, nil
}

// Close stops refreshing a URL's key set.
func (v *Validator) Close() { v.cancel() }

// fileKeys is the file's key set, read again when its size or time
// changed; a file that no longer parses keeps the last good set.
func (v *Validator) fileKeys() (keyfunc.Keyfunc, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st, err := os.Stat(v.opts.JWKSFile)
	if err != nil {
		if v.keys != nil {
			return v.keys, nil
		}
		return nil, fmt.Errorf("jwtauth: JWKS file: %w", err)
	}
	if v.keys != nil && st.ModTime().Equal(v.fileMod) && st.Size() == v.fileSize {
		return v.keys, nil
	}
	raw, err := os.ReadFile(v.opts.JWKSFile)
	var k keyfunc.Keyfunc
	if err == nil {
		k, err = keyfunc.NewJWKSetJSON(json.RawMessage(raw))
	}
	if err != nil {
		if v.keys != nil {
			return v.keys, nil
		}
		return nil, fmt.Errorf("jwtauth: JWKS file %s: %w", v.opts.JWKSFile, err)
	}
	v.keys, v.fileMod, v.fileSize = k, st.ModTime(), st.Size()
	return k, nil
}

// Validate checks a token and returns its principal. The error says
// what was wrong, never the token.
func (v *Validator) Validate(token string) (string, error) {
	keys := v.keys // a URL's: set once
	if v.opts.JWKSFile != "" {
		var err error
		if keys, err = v.fileKeys(); err != nil {
			return "", err
		}
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(asymmetric), jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.opts.ClockSkew), jwt.WithIssuedAt()}
	if v.opts.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.opts.Audience))
	}
	if v.opts.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.opts.Issuer))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, keys.Keyfunc, opts...); err != nil {
		return "", err
	}
	sub, _ := claims[v.opts.SubjectClaim].(string)
	if sub == "" {
		return "", fmt.Errorf("jwtauth: the token has no %q claim", v.opts.SubjectClaim)
	}
	return sub, nil
}

// LooksLikeJWT tells a token given as a password (MQTT, AMQP) from a
// password: three dot-separated parts, the first a base64url JSON object.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// Expiry is a token's "exp", unverified (call Validate first); zero when
// it has none or is no JWT.
func (v *Validator) Expiry(token string) time.Time {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		return time.Time{}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}
	}
	return exp.Time
}
