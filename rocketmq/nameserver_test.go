package rocketmq

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pulsar-gateway/pulsar-gateway/bridge"
	"github.com/pulsar-gateway/pulsar-gateway/rocketmq/remoting"
)

// TestRawAnswers: over a raw connection, the answers a real name server and broker give:
// TOPIC_NOT_EXIST with the real remark for an unknown topic, TBW102's route with the
// gateway's address and quoted id key, REQUEST_CODE_NOT_SUPPORTED with the real remark for
// an unknown code, and nothing at all for a oneway request.
func TestRawAnswers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b bridge.Backend) {
		addr, _ := serve(t, b, nil)
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		w, r := remoting.NewWriter(nc), remoting.NewReader(nc)
		ask := func(c *remoting.Command) *remoting.Command {
			t.Helper()
			if err := w.WriteCommand(c); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			res, err := r.ReadCommand()
			if err != nil {
				t.Fatal(err)
			}
			if res.Opaque != c.Opaque || !res.IsResponse() {
				t.Fatalf("answer %v to %v", res, c)
			}
			return res
		}
		missing := unique("missing")
		res := ask(&remoting.Command{Code: remoting.ReqGetRouteInfoByTopic, Opaque: 1, ExtFields: map[string]string{"topic": missing}})
		if res.Code != remoting.ResTopicNotExist || res.Remark != noRouteRemark(missing) {
			t.Errorf("unknown topic: %v", res)
		}
		res = ask(&remoting.Command{Code: remoting.ReqGetRouteInfoByTopic, Opaque: 2, ExtFields: map[string]string{"topic": "TBW102"}})
		if res.Code != 0 || !strings.Contains(string(res.Body), `"brokerAddrs":{"0":"`+addr+`"}`) || strings.ContainsAny(string(res.Body), " \n") {
			t.Errorf("TBW102: %v %s", res, res.Body)
		}
		// A oneway request of an unknown code gets no answer: the next answer is the next request's.
		w.WriteCommand(&remoting.Command{Code: 9999, Opaque: 3, Flag: remoting.FlagOneway})
		res = ask(&remoting.Command{Code: 9999, Opaque: 4})
		if res.Code != remoting.ResRequestCodeNotSupported || res.Remark != " request type 9999 not supported" {
			t.Errorf("unknown code: %v", res)
		}
	})
}

// TestRequestsWithoutFields: every request the gateway serves, sent without its header
// fields and with a body that is not what it should be, gets an answer (an error where
// fields are required), and the connection still serves after.
func TestRequestsWithoutFields(t *testing.T) {
	b := openBackend(t, "embedded")
	addr, _ := serve(t, b, nil)
	c := dialRaw(t, addr)
	codes := []int32{remoting.ReqGetRouteInfoByTopic, remoting.ReqGetBrokerClusterInfo, remoting.ReqGetAllTopicListFromNameserver,
		remoting.ReqUpdateAndCreateTopic, remoting.ReqSendMessage, remoting.ReqSendMessageV2, remoting.ReqSendBatchMessage,
		remoting.ReqHeartBeat, remoting.ReqUnregisterClient, remoting.ReqGetConsumerListByGroup, remoting.ReqQueryConsumerOffset,
		remoting.ReqUpdateConsumerOffset, remoting.ReqGetMaxOffset, remoting.ReqGetMinOffset, remoting.ReqSearchOffsetByTimestamp,
		remoting.ReqPullMessage, remoting.ReqConsumerSendMsgBack, remoting.ReqViewMessageByID, remoting.ReqLockBatchMQ,
		remoting.ReqUnlockBatchMQ, remoting.ReqGetTopicConfig, remoting.ReqGetTopicStatsInfo, remoting.ReqGetConsumeStats,
		remoting.ReqGetConsumerConnectionList, remoting.ReqGetBrokerRuntimeInfo, remoting.ReqCheckClientConfig}
	for _, body := range [][]byte{nil, []byte("\x00\x00\x00\x16garbage{"), []byte(`{"clientID":1}`)} {
		for _, code := range codes {
			c.opaque++
			if err := c.w.WriteCommand(&remoting.Command{Code: code, Opaque: c.opaque, Body: body}); err != nil {
				t.Fatal(err)
			}
			c.w.Flush()
			res := c.read()
			if res.Opaque != c.opaque || !res.IsResponse() {
				t.Fatalf("%s: answer %v", remoting.RequestCodeName(code), res)
			}
		}
	}
	c.send(remoting.ReqGetBrokerClusterInfo, nil)
	if res := c.read(); res.Code != 0 {
		t.Fatalf("after the bad requests: %v", res)
	}
}
