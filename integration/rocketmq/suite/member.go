package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// -member mode: this program as one member of a group in a process of its own, printing each
// delivery as a JSON line, until it is killed.
var (
	memberGroup = flag.String("member-group", "", "internal: run as a member of this group (with -member-topic) and print deliveries")
	memberTopic = flag.String("member-topic", "", "internal: the member's topic")
)

// memberDelivery is one delivery as a member process prints it.
type memberDelivery struct {
	Topic       string
	QueueID     int
	QueueOffset int64
	MsgID       string
	Reconsume   int32
	Body        []byte
	Props       map[string]string
}

func runMember() int {
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	pc, err := pushConsumerWith(&env{namesrv: strings.Split(*namesrvFlag, ";")}, *memberGroup, *memberTopic, all, "member",
		func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range msgs {
				enc.Encode(memberDelivery{m.Topic, m.Queue.QueueId, m.QueueOffset, m.MsgId, m.ReconsumeTimes, m.Body, m.GetProperties()})
			}
			return consumer.ConsumeSuccess, nil
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, "member:", err)
		return 1
	}
	defer pc.Shutdown()
	fmt.Println(`{"Topic":""}`) // started
	select {}
}

// member is a member process; its deliveries go into a collector as member name.
type member struct {
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
}

// startMember starts a member process of group on topic and waits until its consumer started.
func startMember(e *env, group, topic string, c *collector, name string) (*member, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-namesrv", strings.Join(e.namesrv, ";"), "-member-group", group, "-member-topic", topic)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &member{cmd: cmd, done: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		first := true
		for sc.Scan() {
			var d memberDelivery
			if json.Unmarshal(sc.Bytes(), &d) != nil {
				continue
			}
			if first {
				first = false
				close(started)
				continue
			}
			msg := &primitive.MessageExt{Message: primitive.Message{Topic: d.Topic, Body: d.Body},
				MsgId: d.MsgID, QueueOffset: d.QueueOffset, ReconsumeTimes: d.Reconsume}
			msg.Queue = &primitive.MessageQueue{Topic: d.Topic, QueueId: d.QueueID}
			msg.WithProperties(d.Props)
			c.add(name, msg)
		}
		if first {
			close(started)
		}
	}()
	<-started
	select {
	case <-m.done:
		m.kill()
		return nil, fmt.Errorf("member %s exited: %v", name, cmd.ProcessState)
	default:
	}
	return m, nil
}

// kill ends the member as a crash would (SIGKILL: the OS closes its connections).
func (m *member) kill() {
	m.once.Do(func() {
		m.cmd.Process.Kill()
		<-m.done
		m.cmd.Wait()
	})
}
