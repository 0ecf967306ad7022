// Package amqp serves AMQP 0-9-1, RabbitMQ's dialect, on the bridge, to unmodified clients
// (pika, amqp091-go, the Java client, librabbitmq's tools). The codec is amqp/wire; this
// package keeps connection and channel state.
//
// The model (DESIGN.md, "Names across protocols"):
//
//   - vhost "/" is the configured namespace (public/default); vhost v is namespace v of the
//     configured tenant.
//   - Queue q is the non-partitioned Pulsar topic q of that namespace, read through one Shared
//     subscription ("amqp"; Failover for x-single-active-consumer queues), so any Kafka, MQTT
//     or Pulsar client reads what AMQP wrote and the reverse. Consumers of q, on any gateway,
//     are consumers of that subscription.
//   - Exchanges, queues (their flags and arguments) and bindings live in the bridge state
//     table "amqp-topology", so every gateway on the backend routes alike. Routing happens at
//     publish time: the gateway writes the message to each queue it reaches.
//   - Properties and headers ride in Pulsar properties (see props.go); the routing key is the
//     message key.
//
// Files: conn.go (frames, writer, heartbeats, close), handshake.go (start, login, tune,
// open), channel.go (dispatch, channel close), tx.go (transactions), exchanges.go and
// queues.go (declare, bind, delete), purge.go, topology.go (the shared records), route.go (direct, fanout, topic,
// headers), publish.go (publish and confirms), consume.go (consume, qos, ack, get),
// props.go (AMQP properties in Pulsar properties), deadletter.go (TTL, dead-lettering),
// args.go (queue argument checks), limits.go (x-max-length), expiry.go (x-expires),
// sac.go (x-single-active-consumer),
// priority.go (x-max-priority), replyto.go (direct reply-to), alarms.go (connection.blocked),
// authz.go (permissions).
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
// and x-dead-letter-exchange/-routing-key for rejected, expired and max-length messages,
// with x-death. Bad values of the arguments implemented here are refused with 406, as
// RabbitMQ does; unknown ones are ignored.
//
//   - x-max-length, x-max-length-bytes (body bytes), x-overflow: counted on ready messages.
//     drop-head (the default) drops or dead-letters (reason maxlen) the oldest message no
//     consumer holds, through a short-lived consumer, before the next count, get or consume
//     here; reject-publish nacks the publish under confirms (else drops it silently) and
//     reject-publish-dlx also dead-letters it; a message routed to several queues still
//     reaches those with room. The count lives in the gateway that publishes: loaded from
//     the backlog once, then kept from what this gateway publishes, delivers and settles, so
//     it is exact with one gateway. On a shared backend (several gateways) each publishing
//     gateway adds, every 250 ms, what the others published (how far the queue's end moved
//     beyond its own publishes) and lowers the count to the backlog when that shows less
//     (consumption elsewhere; at most once a second), and a drop-head trim drops only
//     messages older than the newest x-max-length by index, so gateways trimming at once
//     do not drop twice: a queue fed through several gateways ends with the newest
//     x-max-length, and a reject-publish queue refuses once the others' publishes are seen
//     (within 250 ms: publishes racing through several gateways inside that window may
//     overfill it). x-max-length-bytes counts bytes the same way, estimated from the mean
//     size for the others' publishes. Messages buffered by consumers (their prefetch
//     window in the gateway) count as ready but cannot be dropped; they are delivered.
//   - x-expires: as on one node, across gateways. A use (declare, passive too; basic.get,
//     empty too; the last consumer leaving) on any gateway restarts the queue's lease; a
//     consumer on any gateway keeps it. Uses are shared through the amqp-expires state
//     table, written at most once per x-expires/10 per queue per gateway, so a queue goes
//     between x-expires and x-expires*1.1 after its last use (expiry.go). A gateway that
//     starts while another runs counts from the recorded uses; the first of a run restarts
//     the leases, as a RabbitMQ node does at start.
//   - x-max-priority (0..255; more is 406; a message's priority above it counts as it):
//     ordered within each consumer's buffer in the gateway, up to 1000 messages read ahead
//     (priorityWindow); a new consumer first waits (at most 200ms) for the messages ready
//     when it started, so they are ordered together. Beyond the window, and for basic.get,
//     messages come in publish order.
//
// queue.purge removes ready messages only (this gateway's consumer buffers, then what no
// consumer holds); deliveries awaiting an ack stay and are acked or requeued as usual.
// Messages buffered by consumers on other gateways are not purged.
//
// Direct reply-to (amq.rabbitmq.reply-to) works across gateways on a shared backend, as on
// one RabbitMQ node: a reply name carries its requester's gateway (a token drawn at start)
// and channel. A reply published through that gateway goes to the channel in memory; one
// published through another gateway goes to the requester's gateway's reply topic
// (__pgw-amqp-reply-<token> in vhost "/"'s namespace), which that gateway reads from its
// first reply consumer on and deletes when it stops. A reply counts as routed (mandatory:
// never returned; confirmed) and is dropped when its requester is gone, as RabbitMQ does.
// A passive declare of another gateway's reply name succeeds while that gateway's reply
// topic exists. replyto.go says why this shape, and how the topic is kept small.
//
// Authorization (authz.go): with Options.Authz, the gateway's one rule set (package authz,
// Kafka-style ACLs) is enforced as RabbitMQ enforces permissions. Queue q is the topic
// resource q, exchange x the exchange resource x, vhost v the vhost resource v; the subject
// is the logged-in user from the client's IP. connection.open needs DESCRIBE on the vhost
// (else connection.close 530 NOT_ALLOWED "access to vhost 'v' refused for user 'u'", as
// RabbitMQ's rabbit_access_control:check_vhost_access). RabbitMQ's configure is CREATE for
// queue.declare (checked when the queue exists too, and on a server-named queue's generated
// amq.gen- name, as RabbitMQ does) and exchange.declare, and DELETE for queue.delete and
// exchange.delete; write is WRITE on the queue of queue.bind/unbind, the destination of
// exchange.bind/unbind and the exchange of basic.publish (for the default exchange: on the
// queue the routing key names); read is READ for basic.consume, basic.get, queue.purge and
// the source exchange of a binding. Passive declares, which RabbitMQ does not check, need
// DESCRIBE (implied by any of READ, WRITE, DELETE). A new queue with x-dead-letter-exchange
// and a new exchange with alternate-exchange also need READ on themselves and WRITE there,
// as RabbitMQ checks. Direct reply-to needs no rule. A denial is channel.close 403
// ACCESS_REFUSED with RabbitMQ's text ("read access to queue 'q' in vhost '/' refused for
// user 'alice'"; the default exchange is named amq.default): the channel ends, the
// connection and its other channels go on. Nil Authz checks nothing.
//
// connection.blocked/unblocked go to clients that advertise the capability, while an
// alarm is on (Options.MemoryAlarm, or Server.SetAlarm from the embedding program); the
// gateway then stops reading from connections at their next publish until it clears.
//
// basic.qos is per consumer (global=false, for consumers created afterwards) and per
// channel (global=true, shared by the channel's consumers); both may apply at once.
//
// An auto-delete exchange is deleted once its last binding as a source goes.
//
// Transactions (tx.select, commit, rollback) follow RabbitMQ: see tx.go.
//
// x-single-active-consumer (sac.go): of a queue's consumers, on any gateway, the first
// registered gets every message; when it is cancelled (once its unacked deliveries are
// settled, which RabbitMQ does not wait for) or its channel or connection closes, the next in
// registration order takes over with what it held unacked. The order lives in the state table
// "amqp-sac" (registrations within the gateways' clock skew may be ordered either way); only
// the active consumer attaches to the queue's subscription, with the Failover type, since
// Pulsar orders Failover consumers by name hash. A gateway that dies holding the active
// consumer is passed over once the store says it is gone (bridge.Presence, asked every
// 250 ms by a gateway whose consumer waits behind it). consumer_count counts every
// registration. On such a queue an exclusive basic.consume is 403 as in RabbitMQ, while
// basic.get and a drop-head x-max-length(-bytes) are refused with 406 (they would add
// consumers Pulsar could make active), and queue.purge reaches only this gateway's buffers
// while a consumer is registered.
//
// Exclusive queues (exclusive.go) belong to a connection named with its gateway's presence
// id: 405 from any other connection on any gateway; removed when the connection closes, or,
// when its gateway dies, by the next gateway to touch it or every gateway's sweep (2 s).
// An exclusive consumer claims its queue in the topology table: other consumers, on any
// gateway, get 403 until it goes or its gateway dies.
//
// Not yet: x-queue-mode (accepted with a warning).
package amqp
