// Package mqtt serves MQTT 3.1, 3.1.1 and 5 clients on the bridge. Mochi
// (github.com/mochi-mqtt/server/v2, patched, as packages of this module under
// third_party/mochi-mqtt-server) decodes the wire and keeps the
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
// correlation data (base64), the payload format indicator, the publisher's
// client id ("mqtt.client", for no-local subscriptions) and an MQTT 5
// message expiry as the time it expires ("mqtt.expires", Unix ms). Messages
// from other protocols carry no "mqtt.qos" and go out at the subscription's
// QoS, capped at 1: Kafka and AMQP writes are durable, at-least-once.
//
// Expiry and no-local: an expired message is acknowledged to the backend
// and not sent, also when retained; one with time left goes out with the
// interval left [MQTT-3.3.2-6]. A no-local subscription skips (and
// acknowledges) messages its own client id published.
//
// Durability: a QoS 1 PUBACK and a QoS 2 PUBREC go out only once the
// backend made the message durable, in the order the PUBLISHes came in; a
// backend failure answers an MQTT 5 client with reason 0x80 and closes a
// 3.1.1 connection. Outbound, the backend ack follows the client's PUBACK
// or PUBREC (QoS 0: once written), with a bounded window per session: after
// PUBREC the client holds a QoS 2 message, and a backend that delivered it
// again would deliver it twice.
//
// QoS 2 across connections (exactly.go): a persistent session keeps the
// packet ids of stored publishes awaiting PUBREL, so a PUBLISH sent again
// with DUP after a reconnect is acknowledged, not stored twice, and a PUBREL
// gets PUBCOMP; outbound, the PUBRELs the client did not complete go out
// again on its next connection, and a message it did not acknowledge comes
// again under its old packet id with DUP. The state moves in memory on a
// take-over and through the session record ("q2", "out") otherwise, written
// when a connection ends: after a gateway crash a duplicate is possible.
//
// Authentication (auth.go, acl.go): off unless a Mosquitto password file
// (package passwd) or ACL file is configured. A refused CONNECT gets
// Mosquitto's code (2.0.11, measured): not authorized 5 (MQTT 5: 0x87),
// for a wrong password as for no username where one is required. A filter the ACL does not let
// the client read gets SUBACK 0x80 (5: 0x87); a subscription needs a read
// rule covering its whole filter and no deny rule overlapping it, since
// messages are not checked one by one. A denied publish is dropped: QoS 1
// and 2 are acknowledged on 3.1.1 as Mosquitto does, with 0x87 on MQTT 5;
// a denied will is not published.
//
// Sessions: a persistent session (3.1.1 clean session false, 5 session
// expiry > 0) of client c holds one durable subscription per filter, named
// "mqtt-<c>-<filter>" (both escaped like topics), and a record in the state
// table "mqtt-sessions" listing its filters, so it resumes after a gateway
// restart. Clean sessions use non-durable subscriptions. "$share/g/filter"
// is the Shared subscription "g". Retained messages live in the state table
// "mqtt-retained", keyed by MQTT topic. An MQTT 5 session's expiry runs from
// its disconnect (the record's "left", so a restart does not reset it); a
// timer set at the disconnect, a sweep at start-up and one every
// SessionSweep drop expired sessions with their subscriptions. A DISCONNECT
// may change the interval, not from 0 (0x82). A 3.1.1 persistent session
// never expires, as with Mosquitto's default. A session whose gateway
// crashed has no "left": its record names that gateway's presence id
// ("holder"), and once the store says that gateway is gone (a sweep of any
// gateway, or the restarted one) its expiry runs from then. Mochi itself is told every session is clean, so it
// never holds or replays one; the hook takes sessions over instead.
//
// Wildcards: a filter with + or # is a pattern subscription, anchored at
// both ends; one whose first level is a wildcard does not match topics
// starting with '$' [MQTT-4.7.2-1]. The backend
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
// Memory: an idle connection costs about 11 KiB (heap 6 KiB; mochi's two
// goroutines per client on their first 2 KiB stacks). Mochi is a patched
// copy (third_party/README.md) that runs the handshake on a goroutine of
// its own and parks the reader and writer in small frames; the handlers'
// and this package's frames under the reader are kept small too.
//
// Known gaps: QoS 2 state written only when a connection ends (see above);
// QoS 1 messages redelivered after a reconnect get new packet ids (allowed:
// at least once); a delayed will is lost when the gateway restarts; a
// member joining a clean-session (non-durable) shared group on a wildcard
// filter skips messages older than its subscription that the group had not
// consumed yet.
package mqtt
