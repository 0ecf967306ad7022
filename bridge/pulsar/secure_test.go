package pulsar_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/bridgetest"
	pulsarbackend "github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar"
	"github.com/pulsar-gateway/pulsar-gateway/bridge/pulsar/pulsartest"
)

// secureOptions are the secure broker's (integration/pulsar/standalone.sh
// --secure, exported with the PULSAR_SECURE_ prefix: scripts/test.sh), or
// a skip.
func secureOptions(t testing.TB) pulsarbackend.Options {
	t.Helper()
	opts, ok := pulsartest.Options("PULSAR_SECURE_")
	if !ok || opts.TLS.CAFile == "" || opts.AuthTokenFile == "" {
		t.Skip("PULSAR_SECURE_URL / _ADMIN_URL / _TLS_CA / _TOKEN_FILE unset: run `integration/pulsar/standalone.sh start --secure` and export what it prints with the PULSAR_SECURE_ prefix")
	}
	return opts
}

func openWith(t testing.TB, opts pulsarbackend.Options) *pulsarbackend.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := pulsarbackend.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestSecureConformance: the bridge suite over TLS with token auth, every
// connection (client, admin, the gateway's own) through them.
func TestSecureConformance(t *testing.T) {
	opts := secureOptions(t)
	bridgetest.Run(t, bridgetest.Harness{
		New: func(t *testing.T) bridge.Backend { return openWith(t, opts) },
		Reopen: func(t *testing.T, b bridge.Backend) bridge.Backend {
			if err := b.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			return openWith(t, opts)
		},
		Wait:  15 * time.Second,
		Quiet: time.Second,
		// The plain broker's TestConformance proves the order-sensitive
		// parts one at a time; here a group's tests overlap, so the second
		// run costs CI far less than the first.
		Parallel: true,
	})
}

// rawBatchRoundTrip sends Kafka-style batches and reads them back with a
// Batches reader, and checks that both went the gateway's own way over
// TLS: SendBatch as batch entries (not the message-by-message fallback),
// the reader an entry reader.
func rawBatchRoundTrip(t *testing.T, b *pulsarbackend.Backend) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := fmt.Sprintf("persistent://public/default/secure-batch-%d", time.Now().UnixNano())
	if err := b.Admin().CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	part := bridge.PartitionName(topic, 0)
	p, err := b.CreateProducer(ctx, bridge.ProducerOptions{Topic: part, BatchingMaxMessages: 100,
		BatchingMaxBytes: 1 << 20, Compression: bridge.CompressionLZ4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before := b.BatchStats()
	const batches, per = 5, 20
	for i := range batches {
		msgs := make([]bridge.OutMessage, per)
		for j := range msgs {
			msgs[j] = bridge.OutMessage{Key: []byte("k"), Value: []byte(fmt.Sprintf("v%d", i*per+j))}
		}
		done := make(chan error, 1)
		p.(bridge.BatchProducer).SendBatch(ctx, msgs, func(_ bridge.SendResult, err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatalf("SendBatch %d: %v", i, err)
		}
	}
	after := b.BatchStats()
	if got := after.Raw - before.Raw; got != batches || after.Fallback != before.Fallback {
		t.Fatalf("BatchStats %+v -> %+v: want %d more raw batches and no fallback", before, after, batches)
	}
	r, err := b.CreateReader(ctx, bridge.ReaderOptions{Topic: part, Start: bridge.StartEarliest(), Batches: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if typ := fmt.Sprintf("%T", r); typ != "*pulsar.entryReader" {
		t.Errorf("Batches reader is a %s, want the entry reader (own connection)", typ)
	}
	var got int
	for got < batches*per {
		ms, err := r.(bridge.BatchReader).NextBatch(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v", got, err)
		}
		for _, m := range ms {
			if want := fmt.Sprintf("v%d", got); string(m.Value) != want || m.Index != int64(got) {
				t.Fatalf("message %d: %q at %d, want %q", got, m.Value, m.Index, want)
			}
			got++
		}
	}
}

// TestSecureRawBatchPath: over pulsar+ssl:// with a token, Kafka batches
// take the gateway's own connections, and transactions (Pulsar's
// coordinator, reached the same way) are available.
func TestSecureRawBatchPath(t *testing.T) {
	b := openWith(t, secureOptions(t))
	rawBatchRoundTrip(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ok, err := b.TxnsAvailable(ctx); err != nil || !ok {
		t.Fatalf("TxnsAvailable = %v, %v; want the coordinator over TLS", ok, err)
	}
	id, err := b.BeginTxn(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EndTxn(ctx, id, false); err != nil {
		t.Fatal(err)
	}
}

// TestSecureClientCertificate: Pulsar's TLS authentication, the
// certificate's CN (gateway-client) a super user of the secure broker;
// no token anywhere.
func TestSecureClientCertificate(t *testing.T) {
	opts := secureOptions(t)
	cert, key := os.Getenv("PULSAR_SECURE_TLS_CLIENT_CERT"), os.Getenv("PULSAR_SECURE_TLS_CLIENT_KEY")
	if cert == "" || key == "" {
		t.Skip("PULSAR_SECURE_TLS_CLIENT_CERT / _KEY unset")
	}
	opts.AuthTokenFile = ""
	opts.TLS.CertFile, opts.TLS.KeyFile = cert, key
	rawBatchRoundTrip(t, openWith(t, opts))
}

// mint signs an HS256 token for subject with the secure broker's secret
// key, as its AuthenticationProviderToken checks them.
func mint(t testing.TB, subject string, ttl time.Duration) string {
	t.Helper()
	keyFile := os.Getenv("PULSAR_SECURE_TOKEN_SECRET_KEY")
	if keyFile == "" {
		t.Skip("PULSAR_SECURE_TOKEN_SECRET_KEY unset")
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": subject}
	if ttl > 0 {
		claims["exp"] = time.Now().Add(ttl).Unix()
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSecureTokenFileRotation: the token file is read again for new
// connections: replaced by a token the broker refuses, a new connection
// fails; replaced by a good one again, it works.
func TestSecureTokenFileRotation(t *testing.T) {
	opts := secureOptions(t)
	file := filepath.Join(t.TempDir(), "token")
	write := func(tok string) {
		if err := os.WriteFile(file+".tmp", []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil { // as a Secret mount swaps it
			t.Fatal(err)
		}
	}
	write(mint(t, "admin", time.Hour))
	opts.AuthTokenFile = file
	b := openWith(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := func() string { return fmt.Sprintf("persistent://public/default/rotate-%d", time.Now().UnixNano()) }
	if err := b.Admin().CreateTopic(ctx, topic(), 1); err != nil {
		t.Fatal(err)
	}
	write(mint(t, "nobody", time.Hour)) // valid signature, a role with no rights
	if err := b.Admin().CreateTopic(ctx, topic(), 1); err == nil {
		t.Fatal("CreateTopic with the rotated-in token of a role without rights succeeded: the file was not read again")
	}
	write(mint(t, "admin", time.Hour))
	if err := b.Admin().CreateTopic(ctx, topic(), 1); err != nil {
		t.Fatalf("after rotating back: %v", err)
	}
	rawBatchRoundTrip(t, b) // new own connections log in with the file's token
}

// TestSecureStartFailures: a broker that refuses the gateway's login or
// certificate check stops Open with an error that says so, quickly.
func TestSecureStartFailures(t *testing.T) {
	opts := secureOptions(t)
	dir := t.TempDir()
	wrongKey := make([]byte, 32)
	rand.Read(wrongKey)
	wrong, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "admin"}).SignedString(wrongKey)
	otherCA := writeCA(t, dir)
	cases := []struct {
		name string
		edit func(o *pulsarbackend.Options)
		want []string // all of
	}{
		{"wrong token", func(o *pulsarbackend.Options) { o.AuthTokenFile, o.AuthToken = "", wrong }, []string{"refused the gateway's login"}},
		{"no token", func(o *pulsarbackend.Options) { o.AuthTokenFile = "" }, []string{"refused the gateway's login"}},
		{"untrusted CA", func(o *pulsarbackend.Options) { o.TLS.CAFile = otherCA }, []string{"TLS certificate does not verify", "certificate signed by unknown authority"}},
		{"wrong server name", func(o *pulsarbackend.Options) { o.TLS.ServerName = "broker.example.com" }, []string{"TLS certificate does not verify", "broker.example.com"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			c.edit(&o)
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			start := time.Now()
			b, err := pulsarbackend.Open(ctx, o)
			took := time.Since(start)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("after %v: %v", took.Round(time.Millisecond), err)
			if took > 30*time.Second {
				t.Errorf("Open took %v to fail: want a prompt error, not a hang", took)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("error %q is a bridge.ErrUnavailable: retrying would not help", err)
			}
		})
	}
}

// writeCA writes a self-signed CA that signed nothing of the broker's.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecureOAuth2: pulsar-client-go's OAuth2 client credentials against
// a token endpoint of the test's own that signs its access tokens with the
// broker's secret key, so the broker really checks them
// (AuthenticationProviderToken). Every connection logs in with the same
// provider's token: the client, the admin API, the gateway's own.
func TestSecureOAuth2(t *testing.T) {
	opts := secureOptions(t)
	mint(t, "probe", 0) // skips without the secret key
	var issued atomic.Int64
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "token_endpoint": srv.URL + "/token"})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "client_credentials" ||
			r.Form.Get("client_id") != "gateway" || r.Form.Get("client_secret") != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		issued.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"access_token": mint(t, "admin", 10*time.Minute),
			"token_type": "Bearer", "expires_in": 600})
	})
	creds := filepath.Join(t.TempDir(), "creds.json")
	os.WriteFile(creds, []byte(`{"type":"client_credentials","client_id":"gateway","client_secret":"s3cret"}`), 0o600)
	opts.AuthTokenFile = ""
	opts.OAuth2 = pulsarbackend.OAuth2Options{IssuerURL: srv.URL, PrivateKeyFile: creds, Audience: "pulsar"}
	rawBatchRoundTrip(t, openWith(t, opts))
	if issued.Load() == 0 {
		t.Fatal("no token was issued")
	}
	t.Logf("tokens issued: %d (cached by the provider)", issued.Load())

	// A secret the endpoint refuses: no token, no start.
	os.WriteFile(creds, []byte(`{"type":"client_credentials","client_id":"gateway","client_secret":"wrong"}`), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if b, err := pulsarbackend.Open(ctx, opts); err == nil {
		b.Close()
		t.Fatal("Open with refused client credentials succeeded")
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Logf("refused credentials: %v", err)
	} else {
		t.Errorf("refused credentials: Open hung until %v", err)
	}
}

// BenchmarkSendBatchTLS: Kafka-style batches (100 messages of 1 KiB, 8 in
// flight) on the plain broker and the secure one, through the gateway's
// own connections (raw) and message by message (each: what the fallback
// does, bridge.SendEach), so the cost of TLS and of losing the raw path
// can be read side by side:
//
//	go test -run '^$' -bench SendBatchTLS -benchtime 2000x -count 3 ./bridge/pulsar/
func BenchmarkSendBatchTLS(b *testing.B) {
	brokers := map[string]func(b *testing.B) *pulsarbackend.Backend{
		"plain":  func(b *testing.B) *pulsarbackend.Backend { return openBackend(b) },
		"secure": func(b *testing.B) *pulsarbackend.Backend { return openWith(b, secureOptions(b)) },
	}
	for _, broker := range []string{"plain", "secure"} {
		for _, way := range []string{"raw", "each"} {
			b.Run(broker+"-"+way, func(b *testing.B) {
				be := brokers[broker](b)
				ctx := context.Background()
				topic := fmt.Sprintf("persistent://public/default/bench-batch-%d", time.Now().UnixNano())
				if err := be.Admin().CreateTopic(ctx, topic, 1); err != nil {
					b.Fatal(err)
				}
				p, err := be.CreateProducer(ctx, bridge.ProducerOptions{Topic: bridge.PartitionName(topic, 0),
					BatchingMaxMessages: 1000, BatchingMaxBytes: 1 << 20, Compression: bridge.CompressionLZ4})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close()
				msgs := make([]bridge.OutMessage, 100)
				for i := range msgs {
					v := make([]byte, 1024)
					rand.Read(v)
					msgs[i] = bridge.OutMessage{Value: v}
				}
				send := p.(bridge.BatchProducer).SendBatch
				if way == "each" {
					send = func(ctx context.Context, m []bridge.OutMessage, cb bridge.SendCallback) {
						bridge.SendEach(ctx, p, m, cb)
					}
				}
				window := make(chan struct{}, 8)
				var failed atomic.Value
				b.SetBytes(100 * 1024)
				b.ResetTimer()
				t0, cpu0 := time.Now(), processCPU()
				for range b.N {
					window <- struct{}{}
					send(ctx, msgs, func(_ bridge.SendResult, err error) {
						if err != nil {
							failed.Store(err)
						}
						<-window
					})
				}
				for range cap(window) {
					window <- struct{}{}
				}
				el, cpu := time.Since(t0), processCPU()-cpu0
				b.StopTimer()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N*100)/el.Seconds(), "msg/s")
				// The gateway's own CPU per message (the broker's is not
				// in it): steadier than msg/s on a shared machine.
				b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*100), "cpu-µs/msg")
			})
		}
	}
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
