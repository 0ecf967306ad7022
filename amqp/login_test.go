package amqp

import (
	"errors"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"

	"github.com/pulsar-gateway/pulsar-gateway/amqp/wire"
	"github.com/pulsar-gateway/pulsar-gateway/passwd"
)

// passwordFile writes a Mosquitto password file with mosquitto_passwd (Debian's mosquitto
// package; scripts/test.sh installs it) and returns its login check.
func passwordFile(t *testing.T, users ...string) func(user, password string) bool {
	t.Helper()
	tool, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Fatal("mosquitto_passwd not installed: apt-get install mosquitto (scripts/test.sh does)")
	}
	path := filepath.Join(t.TempDir(), "passwd")
	for i := 0; i < len(users); i += 2 {
		args := []string{"-b", path, users[i], users[i+1]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v %s", err, out)
		}
	}
	f, err := passwd.Load(path)
	must(t, err)
	return func(user, password string) bool { return f.Check(user, []byte(password)) }
}

// withLogin is g's URL with another user and password.
func withLogin(g *gateway, user, password string) string {
	u, _ := url.Parse(g.url)
	u.User = url.UserPassword(user, password)
	return u.String()
}

// amqplain dials g logging in with AMQPLAIN (as py-amqp and kombu do by default).
func amqplain(g *gateway, user, password string) (*amqp091.Connection, error) {
	return amqp091.DialConfig(g.url, amqp091.Config{
		SASL: []amqp091.Authentication{&amqp091.AMQPlainAuth{Username: user, Password: password}}})
}

// With a password file, a login is checked against it, with PLAIN and AMQPLAIN; a wrong one
// is refused as RabbitMQ refuses it: connection.close 403 ACCESS_REFUSED.
func TestLoginPasswordFile(t *testing.T) {
	auth := passwordFile(t, "alice", "s3cret", "bob", "other")
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t, func(o *Options) { o.Authenticate = auth })

		c, err := amqp091.Dial(withLogin(g, "alice", "s3cret"))
		must(t, err)
		declare(t, channel091(t, c), "login-plain")
		c.Close()
		c, err = amqplain(g, "bob", "other")
		must(t, err)
		declare(t, channel091(t, c), "login-amqplain")
		c.Close()

		// amqp091-go does not offer authentication_failure_close, so, as with RabbitMQ, the
		// socket just closes and the client reports its own 403 ACCESS_REFUSED.
		for _, login := range []struct{ user, password string }{
			{"alice", "wrong"}, {"alice", "other"}, {"mallory", "s3cret"}, {"guest", "guest"}, {"", ""},
		} {
			_, err := amqp091.Dial(withLogin(g, login.user, login.password))
			if e := (*amqp091.Error)(nil); !errors.As(err, &e) || e.Code != 403 {
				t.Errorf("login %s/%s: %v, want 403 ACCESS_REFUSED", login.user, login.password, err)
			}
		}
		_, err = amqplain(g, "bob", "s3cret")
		if e := (*amqp091.Error)(nil); !errors.As(err, &e) || e.Code != 403 {
			t.Errorf("AMQPLAIN bob/s3cret: %v, want 403 ACCESS_REFUSED", err)
		}

		// On the wire: connection.close 403 to a client that offers authentication_failure_close,
		// and after its close-ok the socket closes; a client that does not offer it sees the
		// socket close at once, as the spec says and RabbitMQ does.
		refused := "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."
		u, _ := url.Parse(g.url)
		for _, capable := range []bool{true, false} {
			nc, err := net.Dial("tcp", u.Host)
			must(t, err)
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			r, w := wire.NewReader(nc), wire.NewWriter(nc)
			_, err = io.WriteString(nc, wire.ProtocolHeader)
			must(t, err)
			_, err = r.ReadFrame() // start
			must(t, err)
			props := wire.Table{}
			if capable {
				props["capabilities"] = wire.Table{"authentication_failure_close": true}
			}
			must(t, w.WriteMethod(0, &wire.ConnectionStartOk{ClientProperties: props, Mechanism: "PLAIN",
				Response: "\x00alice\x00wrong", Locale: "en_US"}))
			must(t, w.Flush())
			if capable {
				f, err := r.ReadFrame()
				must(t, err)
				m, err := wire.DecodeMethod(f.Payload)
				must(t, err)
				if cl, ok := m.(*wire.ConnectionClose); !ok || cl.ReplyCode != 403 || cl.ReplyText != refused {
					t.Fatalf("answer to a wrong login: %#v, want connection.close 403 %q", m, refused)
				}
				must(t, w.WriteMethod(0, &wire.ConnectionCloseOk{}))
				must(t, w.Flush())
			}
			if f, err := r.ReadFrame(); err == nil {
				t.Fatalf("after a refused login (capability %v) the connection sent frame %+v, want it closed", capable, f)
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("after a refused login (capability %v): %v, want the connection closed", capable, err)
			}
		}
	})
}

// Without a password file any user and password may log in.
func TestLoginWithoutPasswordFile(t *testing.T) {
	eachBackend(t, func(t *testing.T, k *kit) {
		g := k.start(t)
		for _, login := range [][2]string{{"guest", "guest"}, {"anyone", "anything"}, {"alice", ""}} {
			c, err := amqp091.Dial(withLogin(g, login[0], login[1]))
			if err != nil {
				t.Fatalf("login %s/%s without a password file: %v", login[0], login[1], err)
			}
			declare(t, channel091(t, c), "login-open")
			c.Close()
		}
	})
}
