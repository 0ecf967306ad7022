package kafka

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
)

// SCRAM-SHA-256 and SCRAM-SHA-512 logins (RFC 5802, KIP-84), whose
// credentials kafka-configs --entity-type users manages through
// AlterUserScramCredentials, kept in a state table every gateway shares:
// a user added through one gateway logs in through any, at once.
//
// The conversation is our own (scramServer), not xdg-go/scram's: librdkafka
// (kcat, confluent-kafka) answers with its own nonce in front of the
// combined one, which Kafka accepts (it checks the nonce ends with the
// server's) and xdg refuses; measured with kcat 1.7 / librdkafka 2.0.2.
const scramTable = "kafka-scram"

// scramMech is one SCRAM mechanism: its Kafka code, name and hash.
type scramMech struct {
	code int8 // AlterUserScramCredentials' mechanism: 1 SHA-256, 2 SHA-512
	name string
	new  func() hash.Hash
}

var scramMechs = []scramMech{
	{1, "SCRAM-SHA-256", sha256.New},
	{2, "SCRAM-SHA-512", sha512.New},
}

// Kafka's bounds on a credential's iterations (ScramMechanism).
const (
	scramMinIterations = 4096
	scramMaxIterations = 16384
)

func scramByName(name string) (scramMech, bool) {
	i := slices.IndexFunc(scramMechs, func(m scramMech) bool { return m.name == name })
	if i < 0 {
		return scramMech{}, false
	}
	return scramMechs[i], true
}

func scramByCode(code int8) (scramMech, bool) {
	i := slices.IndexFunc(scramMechs, func(m scramMech) bool { return m.code == code })
	if i < 0 {
		return scramMech{}, false
	}
	return scramMechs[i], true
}

// scramCred is a stored credential: never the password, nor the salted one.
type scramCred struct {
	Salt      []byte
	Iters     int
	StoredKey []byte
	ServerKey []byte
}

// scramKey names a user's credential of a mechanism; a user's keys share
// the user's prefix.
func scramKey(user string, m scramMech) string { return user + "\x00" + m.name }

// newScramCred derives what the server keeps from what the admin client
// sends (a salt and the salted password: Kafka's clients never send the
// password itself).
func newScramCred(m scramMech, salt, salted []byte, iters int) scramCred {
	mac := func(key []byte, s string) []byte {
		h := hmac.New(m.new, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	client := mac(salted, "Client Key")
	sh := m.new()
	sh.Write(client)
	return scramCred{Salt: salt, Iters: iters, StoredKey: sh.Sum(nil), ServerKey: mac(salted, "Server Key")}
}

// scramCreds is the shared table of credentials.
type scramCreds struct{ t bridge.StateTable }

func (s scramCreds) get(user string, m scramMech) (scramCred, bool) {
	v, ok := s.t.Get(scramKey(user, m))
	if !ok {
		return scramCred{}, false
	}
	var c scramCred
	if json.Unmarshal(v, &c) != nil {
		return scramCred{}, false
	}
	return c, true
}

func (s scramCreds) put(ctx context.Context, user string, m scramMech, c scramCred) error {
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.t.Put(ctx, scramKey(user, m), v)
}

func (s scramCreds) delete(ctx context.Context, user string, m scramMech) error {
	return s.t.Delete(ctx, scramKey(user, m))
}

// users lists every user with a credential, and theirs.
func (s scramCreds) users() map[string][]scramMech {
	out := map[string][]scramMech{}
	s.t.Range("", func(key string, _ []byte) bool {
		for _, m := range scramMechs {
			if user, ok := strings.CutSuffix(key, "\x00"+m.name); ok {
				out[user] = append(out[user], m)
			}
		}
		return true
	})
	return out
}

var errScram = errors.New("SCRAM authentication failed")

// scramServer is one login's server side, as Kafka's ScramSaslServer
// runs it: client-first, then client-final; proofs compared in constant
// time; no channel binding; extensions refused (tokenauth is Kafka's
// delegation tokens, which the gateway does not serve).
type scramServer struct {
	m     scramMech
	creds scramCreds
	step2 bool // the first message was answered

	user, gs2, clientFirstBare, serverFirst, nonce string
	cred                                           scramCred
}

// step answers one client message: the server-first message, then the
// server-final one (done).
func (s *scramServer) step(msg string) (out string, done bool, err error) {
	if !s.step2 {
		s.step2 = true
		return s.first(msg)
	}
	out, err = s.final(msg)
	return out, true, err
}

func (s *scramServer) first(msg string) (string, bool, error) {
	// gs2-header: "n" (or "y": the client can bind, thinks we cannot),
	// an optional authzid, then client-first-message-bare.
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok || (flag != "n" && flag != "y") {
		return "", true, errScram
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return "", true, errScram
	}
	s.gs2, s.clientFirstBare = flag+","+authz+",", bare
	attrs := strings.Split(bare, ",")
	if len(attrs) != 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") || len(attrs[1]) < 3 {
		return "", true, errScram // extensions, or a mandatory "m=": refused
	}
	user, ok := saslName(attrs[0][2:])
	if !ok || user == "" {
		return "", true, errScram
	}
	s.user = user
	if authz != "" {
		if a, ok := saslName(strings.TrimPrefix(authz, "a=")); !ok || !strings.HasPrefix(authz, "a=") || a != user {
			return "", true, errScram // Kafka: the authorization id must be the user
		}
	}
	cred, ok := s.creds.get(user, s.m)
	if !ok {
		return "", true, errScram
	}
	s.cred = cred
	var r [18]byte
	rand.Read(r[:])
	s.nonce = attrs[1][2:] + base64.RawURLEncoding.EncodeToString(r[:])
	s.serverFirst = "r=" + s.nonce + ",s=" + base64.StdEncoding.EncodeToString(cred.Salt) + ",i=" + strconv.Itoa(cred.Iters)
	return s.serverFirst, false, nil
}

func (s *scramServer) final(msg string) (string, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return "", errScram
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) != 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return "", errScram
	}
	if cb, err := base64.StdEncoding.DecodeString(attrs[0][2:]); err != nil || string(cb) != s.gs2 {
		return "", errScram
	}
	if !strings.HasSuffix(attrs[1][2:], s.nonce) { // Kafka's check (see above)
		return "", errScram
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != len(s.cred.StoredKey) {
		return "", errScram
	}
	auth := []byte(s.clientFirstBare + "," + s.serverFirst + "," + withoutProof)
	mac := func(key []byte) []byte {
		h := hmac.New(s.m.new, key)
		h.Write(auth)
		return h.Sum(nil)
	}
	clientKey := mac(s.cred.StoredKey)
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	h := s.m.new()
	h.Write(clientKey)
	if !hmac.Equal(h.Sum(nil), s.cred.StoredKey) {
		return "", errScram
	}
	return "v=" + base64.StdEncoding.EncodeToString(mac(s.cred.ServerKey)), nil
}

// saslName decodes a SCRAM user name ("=2C" is ",", "=3D" is "=").
func saslName(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] != '=':
			b.WriteByte(s[i])
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		default:
			return "", false
		}
	}
	return b.String(), true
}
