package mqtt

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// A line mosquitto_passwd 2.0.11 wrote (`mosquitto_passwd -b -c f dev s3cret`).
const mosquittoPasswd = "dev:$7$101$W6RbuUAwH5jYfSkc$oZ31ZlQdwhpqZWueDwTYiRLMz4npLcDXLyTbq2p7nNMNn4vnm3E2vSn6WMFKLFhEEqxBd6MenpOVB1B5BEq35Q==\n"

// sha512Line is a Mosquitto 1.x "$6$" line for user and password.
func sha512Line(user, password string) string {
	salt := []byte("0123456789ab")
	h := sha512.Sum512(append([]byte(password), salt...))
	return user + ":$6$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(h[:]) + "\n"
}

const testACL = `# anonymous clients
topic read public/#

user dev
topic readwrite dev/#
topic deny dev/secret
user admin
topic #

pattern write clients/%c/#
pattern read users/%u/inbox
`

func testAuth(t *testing.T) *Auth {
	t.Helper()
	dir := t.TempDir()
	pw, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	if err := os.WriteFile(pw, []byte("# users\n"+mosquittoPasswd+sha512Line("admin", "root")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(acl, []byte(testACL), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAuth(pw, acl, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestPasswordFile(t *testing.T) {
	a := testAuth(t)
	for _, c := range []struct {
		user, pass string
		hasUser    bool
		ok, bad    bool
	}{
		{"dev", "s3cret", true, true, true}, // mosquitto_passwd's $7$
		{"dev", "s3cret!", true, false, true},
		{"admin", "root", true, true, true}, // $6$
		{"admin", "s3cret", true, false, true},
		{"nobody", "s3cret", true, false, true},
		{"", "", false, true, false}, // anonymous allowed here
	} {
		ok, bad := a.login(c.user, c.hasUser, []byte(c.pass))
		if ok != c.ok || (!ok && bad != c.bad) {
			t.Errorf("login(%q, %q) = %v, %v; want %v, %v", c.user, c.pass, ok, bad, c.ok, c.bad)
		}
	}
	if _, err := NewAuth("dev:plain\n", true, "", false, false); err == nil {
		t.Error("a clear-text password line was accepted")
	}
	if _, err := NewAuth("", false, "topic sideways a/b\nfoo\n", true, false); err == nil {
		t.Error("an ACL line of unknown kind was accepted")
	}
}

func TestACLRules(t *testing.T) {
	a := testAuth(t).acl
	for _, c := range []struct {
		user  string // "" anonymous
		id    string
		topic string
		write bool
		want  bool
	}{
		{"", "c1", "public/news", false, true},
		{"", "c1", "public/#", false, true},
		{"", "c1", "#", false, false}, // wider than public/#
		{"", "c1", "public/news", true, false},
		{"dev", "c1", "dev/a/b", true, true},
		{"dev", "c1", "dev/+/b", false, true},
		{"dev", "c1", "dev/secret", true, false},
		{"dev", "c1", "dev/#", false, false}, // overlaps the denied dev/secret
		{"dev", "c1", "public/news", false, false},
		{"dev", "c1", "clients/c1/up", true, true}, // pattern %c
		{"dev", "c1", "clients/c2/up", true, false},
		{"dev", "c1", "clients/c1/up", false, false},  // write only
		{"dev", "c1", "users/dev/inbox", false, true}, // pattern %u
		{"dev", "c1", "users/admin/inbox", false, false},
		{"", "c1", "users//inbox", false, false},      // no %u without a username
		{"dev", "a/b", "clients/a/b/up", true, false}, // an id does not reach across levels
		{"admin", "c9", "anything/at/all", true, true},
		{"admin", "c9", "#", false, true},
		{"admin", "c9", "$SYS/x", false, false}, // # does not cover $ topics
	} {
		if got := a.allowed(c.user, c.user != "", c.id, c.topic, c.write); got != c.want {
			t.Errorf("allowed(%q, %q, %q, write=%v) = %v, want %v", c.user, c.id, c.topic, c.write, got, c.want)
		}
	}
}

// A refused CONNECT gets Mosquitto's code, measured with Mosquitto 2.0.11:
// not authorized, 5 (3.1.1) and 0x87 (5), for bad credentials as for none.
func TestConnectRefused(t *testing.T) {
	auth := testAuth(t)
	auth.anonymous = false
	g := startGateway(t, "", func(o *Options) { o.Auth = auth })
	for _, c := range []struct {
		user, pass string
		v3, v5     byte
	}{
		{"dev", "s3cret", 0, 0},
		{"dev", "wrong", 5, 0x87},
		{"ghost", "s3cret", 5, 0x87},
		{"", "", 5, 0x87},
	} {
		o := paho3.NewClientOptions().AddBroker("tcp://" + g.addr).SetClientID("a3").SetUsername(c.user).
			SetPassword(c.pass).SetAutoReconnect(false).SetProtocolVersion(4).SetConnectRetry(false)
		cl := paho3.NewClient(o)
		tok := cl.Connect()
		if !tok.WaitTimeout(10 * time.Second) {
			t.Fatal("3.1.1 connect timed out")
		}
		if rc := tok.(*paho3.ConnectToken).ReturnCode(); rc != c.v3 {
			t.Errorf("3.1.1 user %q password %q: CONNACK %d, want %d", c.user, c.pass, rc, c.v3)
		}
		cl.Disconnect(0)

		if rc := connect5Login(t, g, "a5", c.user, c.pass); rc != c.v5 {
			t.Errorf("5 user %q password %q: CONNACK %#x, want %#x", c.user, c.pass, rc, c.v5)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		g.srv.hook.mu.Lock()
		n := len(g.srv.hook.byClient)
		g.srv.hook.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d refused sessions left behind", n)
		}
	}
}

// connect5Login connects an MQTT 5 client with a login and returns the
// CONNACK reason; the connection is closed.
func connect5Login(t *testing.T, g *gateway, id, user, pass string) byte {
	t.Helper()
	conn, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}
	if user != "" {
		cp.Username, cp.UsernameFlag, cp.Password, cp.PasswordFlag = user, true, []byte(pass), true
	}
	ca, err := c.Connect(ctx, cp)
	if ca == nil {
		t.Fatalf("MQTT 5 connect: %v", err)
	}
	if ca.ReasonCode == 0 {
		c.Disconnect(&paho.Disconnect{})
	}
	return ca.ReasonCode
}

// login5 is an MQTT 5 client logged in as user.
func login5(t *testing.T, g *gateway, id, user, pass string) *client5 {
	t.Helper()
	conn, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client5{got: make(chan msg, 100)}
	c.Client = paho.NewClient(paho.ClientConfig{ClientID: id, Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			c.got <- msg{topic: pr.Packet.Topic, payload: string(pr.Packet.Payload), qos: pr.Packet.QoS}
			return true, nil
		}}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(nil) })
	return c
}

// The ACL as Mosquitto applies it: a denied QoS 1 publish gets PUBACK 0x87
// on MQTT 5 and a plain PUBACK on 3.1.1, where the connection stays open;
// neither message is stored. A denied filter gets SUBACK 0x87 (5) or
// 0x80 (3.1.1).
func TestACLEnforced(t *testing.T) {
	g := startGateway(t, "", func(o *Options) { o.Auth = testAuth(t) })
	admin := login5(t, g, "admin", "admin", "root")
	admin.sub(t, "#", 1)

	dev := login5(t, g, "dev5", "dev", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, _ := dev.Publish(ctx, &paho.Publish{Topic: "elsewhere/x", QoS: 1, Payload: []byte("denied5")})
	if r == nil || r.ReasonCode != 0x87 {
		t.Fatalf("denied MQTT 5 publish: %+v, want PUBACK 0x87", r)
	}
	sa, err := dev.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "public/#", QoS: 1}, {Topic: "dev/+/x", QoS: 1}, {Topic: "$share/g/dev/+/y", QoS: 1}}})
	if sa == nil {
		t.Fatal(err)
	}
	if sa.Reasons[0] != 0x87 || sa.Reasons[1] != 1 || sa.Reasons[2] != 1 {
		t.Fatalf("SUBACK %#v, want 0x87 1 1", sa.Reasons)
	}

	o := paho3.NewClientOptions().AddBroker("tcp://" + g.addr).SetClientID("dev3").SetUsername("dev").
		SetPassword("s3cret").SetAutoReconnect(false).SetProtocolVersion(4)
	dev3 := paho3.NewClient(o)
	wait3(t, dev3.Connect())
	defer dev3.Disconnect(0)
	wait3(t, dev3.Publish("elsewhere/y", 1, false, "denied3")) // acknowledged, dropped
	wait3(t, dev3.Publish("elsewhere/z", 2, false, "denied3q2"))
	tok := dev3.Subscribe("public/#", 1, nil)
	wait3(t, tok)
	if rc := tok.(*paho3.SubscribeToken).Result()["public/#"]; rc != 0x80 {
		t.Errorf("3.1.1 SUBACK %#x, want 0x80", rc)
	}
	wait3(t, dev3.Publish("dev/a/x", 1, false, "allowed"))
	if !dev3.IsConnectionOpen() {
		t.Fatal("3.1.1 connection closed after a denied publish")
	}

	m := expect(t, admin.got, 1)[0]
	if m.payload != "allowed" {
		t.Fatalf("admin got %+v first, want only the allowed message", m)
	}
	expectNone(t, admin.got, 300*time.Millisecond)
	if m := expect(t, dev.got, 1)[0]; m.topic != "dev/a/x" {
		t.Fatalf("dev got %+v", m)
	}
}
