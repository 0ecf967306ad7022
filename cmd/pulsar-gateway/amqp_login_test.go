package main

import (
	"errors"
	"strings"
	"testing"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// amqpWarnings are the start-up warnings that name amqp.password_file.
func amqpWarnings(t *testing.T, logs string) []logLine {
	var warn []logLine
	for _, l := range parseLogs(t, strings.NewReader(logs)) {
		if l.str("setting") == "amqp.password_file" || strings.Contains(l.str("msg"), "amqp.password_file") {
			if l.str("level") != "warn" {
				t.Errorf("amqp.password_file logged at %s, want warn: %v", l.str("level"), l)
			}
			warn = append(warn, l)
		}
	}
	return warn
}

// Without amqp.password_file AMQP takes any login, and the start-up log says so once, at
// warn level, naming the setting.
func TestRunWarnsAMQPLoginsOpen(t *testing.T) {
	logs, _ := startRun(t, portZeroArgs(t))
	addrs := listeningAddrs(t, logs.String, 5)
	c, err := amqp091.Dial("amqp://anyone:anything@" + addrs["amqp"] + "/")
	if err != nil {
		t.Fatalf("any login without a password file: %v", err)
	}
	c.Close()
	if w := amqpWarnings(t, logs.String()); len(w) != 1 {
		t.Errorf("%d start-up warnings name amqp.password_file, want 1; log:\n%s", len(w), logs)
	}
}

// With --amqp-password-file a login must match the file (mosquitto_passwd's format), and
// there is no warning.
func TestRunAMQPPasswordFile(t *testing.T) {
	pw := passwordFile(t, "alice", "s3cret")
	logs, _ := startRun(t, append(portZeroArgs(t), "--amqp-password-file", pw, "--auth-open", "kafka,mqtt,schema_registry"))
	addrs := listeningAddrs(t, logs.String, 5)
	c, err := amqp091.Dial("amqp://alice:s3cret@" + addrs["amqp"] + "/")
	if err != nil {
		t.Fatalf("alice/s3cret: %v", err)
	}
	c.Close()
	for _, login := range []string{"alice:wrong", "guest:guest"} {
		_, err := amqp091.Dial("amqp://" + login + "@" + addrs["amqp"] + "/")
		if e := (*amqp091.Error)(nil); !errors.As(err, &e) || e.Code != 403 {
			t.Errorf("login %s: %v, want 403 ACCESS_REFUSED", login, err)
		}
	}
	if w := amqpWarnings(t, logs.String()); len(w) != 0 {
		t.Errorf("warning with amqp.password_file set: %v", w)
	}
}
