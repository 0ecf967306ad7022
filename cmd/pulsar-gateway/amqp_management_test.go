package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func basicGet(t *testing.T, url, user, pass string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// With amqp.management.enabled the binary serves RabbitMQ's management API on its own
// listener, logging in the AMQP listener's users (the password file here), and reports
// the AMQP listener in the overview.
func TestRunServesAMQPManagement(t *testing.T) {
	pw := passwordFile(t, "alice", "s3cret")
	logs, _ := startRun(t, append(portZeroArgs(t), "--auth-password-file", pw,
		"--amqp-management-enabled", "--amqp-management-addr", "127.0.0.1:0"))
	addrs := listeningAddrs(t, logs.String, 6)
	api := "http://" + addrs["amqp.management"] + "/api/"
	ch := amqpChannel(t, addrs["amqp"], "alice", "s3cret")
	if _, err := ch.QueueDeclare("orders", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	code, body := basicGet(t, api+"overview", "alice", "s3cret")
	var ov struct {
		Listeners []struct {
			Protocol string `json:"protocol"`
			Port     int    `json:"port"`
		} `json:"listeners"`
		ObjectTotals struct {
			Connections int `json:"connections"`
			Queues      int `json:"queues"`
		} `json:"object_totals"`
	}
	if code != 200 || json.Unmarshal(body, &ov) != nil {
		t.Fatalf("overview: %d %s", code, body)
	}
	if len(ov.Listeners) != 1 || !strings.HasSuffix(addrs["amqp"], ":"+strconv.Itoa(ov.Listeners[0].Port)) ||
		ov.ObjectTotals.Connections != 1 || ov.ObjectTotals.Queues != 1 {
		t.Errorf("overview: %+v, want the AMQP listener at %s, 1 connection, 1 queue", ov, addrs["amqp"])
	}
	// The password file decides, guest/guest included.
	for _, up := range [][2]string{{"alice", "wrong"}, {"guest", "guest"}} {
		if code, _ := basicGet(t, api+"whoami", up[0], up[1]); code != 401 {
			t.Errorf("%s/%s: %d, want 401", up[0], up[1], code)
		}
	}
}

// The API serves the AMQP listener's state: without it the start fails with one line.
func TestRunAMQPManagementNeedsAMQP(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(portZeroArgs(t), "--amqp-enabled=false", "--amqp-management-enabled"), noEnv, &stdout, &stderr)
	want := "pulsar-gateway: config: amqp.management.enabled: serves the AMQP listener's state: needs amqp.enabled\n"
	if code != 2 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want 2, %q", code, stderr.String(), want)
	}
}
