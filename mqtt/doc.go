// Package mqtt serves MQTT 3.1, 3.1.1 and 5 clients on the bridge. Mochi
// (github.com/mochi-mqtt/server/v2) decodes the wire and keeps the
// connection's protocol state; one mochi hook (hook.go) sends every message
// through the bridge instead of mochi's in-memory fan-out, so the backend,
// not the gateway, holds messages, subscriptions, sessions and retained
// messages.
//
// Names: see names.go (topic a/b/c is Pulsar topic a.b.c, escaped reversibly).
//
// Properties: MQTT 5 user properties are Pulsar properties as they are (the
// last value of a repeated key wins). The gateway's own fields ride in
// properties with the reserved prefix "mqtt." (see props.go): the MQTT
// topic, the publish QoS, the retain flag, content type, response topic,
// correlation data (base64) and the payload format indicator. Messages
// from other protocols carry no "mqtt.qos" and go out at the subscription's
// QoS, capped at 1: Kafka and AMQP writes are durable, at-least-once.
//
// Durability: a QoS 1 PUBACK and a QoS 2 PUBREC go out only once the
// backend made the message durable, in the order the PUBLISHes came in; a
// backend failure answers an MQTT 5 client with reason 0x80 and closes a
// 3.1.1 connection. Outbound, the backend ack follows the client's PUBACK
// or PUBCOMP (QoS 0: once written), with a bounded window per session.
//
// Sessions: a persistent session (3.1.1 clean session false, 5 session
// expiry > 0) of client c holds one durable subscription per filter, named
// "mqtt-<c>-<filter>" (both escaped like topics), and a record in the state
// table "mqtt-sessions" listing its filters, so it resumes after a gateway
// restart. Clean sessions use non-durable subscriptions. "$share/g/filter"
// is the Shared subscription "g". Retained messages live in the state table
// "mqtt-retained", keyed by MQTT topic. An MQTT 5 session's expiry runs from
// its disconnect (the record's "left"); a sweep drops expired sessions with
// their subscriptions. Mochi itself is told every session is clean, so it
// never holds or replays one; the hook takes sessions over instead.
//
// Wildcards: a filter with + or # is a pattern subscription. The backend
// finds topics created later after a delay (Pulsar: the discovery period,
// a second by default), so a new pattern subscription starts at the
// earliest message and skips, by publish time, what was published before
// it subscribed (the record keeps that time for resumes); a durable
// shared group is instead created at the end of every existing matching
// topic. Skipping by time assumes the gateway's and the broker's clocks
// agree.
//
// Topics: a publish to a topic that does not exist creates it with one
// partition (the embedded backend does so itself; Pulsar's admin lookup
// does not). Publishes that arrive while a topic's producer opens wait
// and go out in arrival order, whichever connection sent them.
//
// Known gaps: a QoS 2 publish retransmitted on a new connection is stored
// twice (no persisted packet-id state); redelivered messages get new packet
// ids; no-local and message expiry are not applied; a delayed will is lost
// when the gateway restarts; a member joining a clean-session (non-durable)
// shared group on a wildcard filter skips messages older than its
// subscription that the group had not consumed yet.
package mqtt
