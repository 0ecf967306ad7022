// Package amqp serves AMQP 0-9-1, RabbitMQ's dialect, on the bridge, to unmodified clients
// (pika, amqp091-go, the Java client, librabbitmq's tools). The codec is amqp/wire; this
// package keeps connection and channel state.
//
// The model (DESIGN.md, "Names across protocols"):
//
//   - vhost "/" is the configured namespace (public/default); vhost v is namespace v of the
//     configured tenant.
//   - Queue q is the non-partitioned Pulsar topic q of that namespace, read through one Shared
//     subscription ("amqp"), so any Kafka, MQTT or Pulsar client reads what AMQP wrote and
//     the reverse. Consumers of q, on any gateway, are consumers of that subscription.
//   - Exchanges, queues (their flags and arguments) and bindings live in the bridge state
//     table "amqp-topology", so every gateway on the backend routes alike. Routing happens at
//     publish time: the gateway writes the message to each queue it reaches.
//   - Properties and headers ride in Pulsar properties (see props.go); the routing key is the
//     message key.
//
// Files: conn.go (frames, writer, heartbeats, close), handshake.go (start, login, tune,
// open), channel.go (dispatch, channel close), exchanges.go and queues.go (declare, bind,
// delete, purge), topology.go (the shared records), route.go (direct, fanout, topic,
// headers), publish.go (publish and confirms), consume.go (consume, qos, ack, get),
// props.go (AMQP properties in Pulsar properties), deadletter.go (TTL, dead-lettering).
//
// Errors are *wire.Error, which know their scope: a soft one closes the channel
// (channel.close, then close-ok awaited), a hard one the connection. Codes follow RabbitMQ
// (shared/notes/amqp-semantics.md).
//
// Routing covers the default, direct, fanout, topic and headers exchanges, exchange-to-
// exchange bindings, alternate exchanges and CC/BCC headers.
//
// Queues honour x-message-ttl, per-message expiration (an expired message is dropped or
// dead-lettered when it reaches a consumer or basic.get, so counts include it until then)
// and x-dead-letter-exchange/-routing-key for rejected and expired messages, with x-death.
//
// basic.qos is per consumer (global=false, for consumers created afterwards) and per
// channel (global=true, shared by the channel's consumers); both may apply at once.
//
// Not yet: max-length, x-expires and the other x-arguments (accepted and logged),
// transactions (540), direct reply-to, connection.blocked, exchange auto-delete, priorities. An exclusive queue is removed when its connection
// closes; a gateway that crashes leaves it behind.
package amqp
