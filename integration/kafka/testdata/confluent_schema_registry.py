"""confluent-kafka's schema registry client and serializers (Debian's
python3-confluent-kafka 1.7.0) against the gateway's schema registry, for
AVRO (fastavro), JSON (jsonschema) and PROTOBUF (python3-protobuf; the
message classes are built from FileDescriptorProtos made here, no protoc).

For each type: records produced through the gateway with the serializer
(SerializingProducer; the serializer registers the schema under
{topic}-value) are consumed with the deserializer (DeserializingConsumer)
and checked, field by field; the schema is evolved compatibly (version 2,
more records) and incompatibly (the registration is refused: HTTP 409,
error_code 409, under BACKWARD); the records carry the ids the
registry gave in their framing. With --registry2 and --bootstrap2 (a second gateway on the
same store) the schemas are read through it (same ids, same texts), a
record is produced through it and everything is consumed through it.

Usage: confluent_schema_registry.py BOOTSTRAP REGISTRY_URL SUFFIX
       [--registry2 URL --bootstrap2 ADDR] [--types avro,json,protobuf]
Prints a summary; exits non-zero with a message on any mismatch."""
import argparse
import json
import struct
import sys
import time

from confluent_kafka import Consumer, DeserializingConsumer, SerializingProducer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.error import ValueSerializationError
from confluent_kafka.schema_registry import (Schema, SchemaReference,
                                             SchemaRegistryClient,
                                             SchemaRegistryError)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import (ProtobufDeserializer,
                                                      ProtobufSerializer)
from confluent_kafka.serialization import StringDeserializer, StringSerializer

N = 10  # records per schema version


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


# --- AVRO ------------------------------------------------------------------

class Avro:
    name = "avro"
    type = "AVRO"
    _fields = [{"name": "id", "type": "int"}, {"name": "item", "type": "string"}]
    V1 = json.dumps({"type": "record", "name": "Order", "namespace": "gw.avro", "fields": _fields})
    V2 = json.dumps({"type": "record", "name": "Order", "namespace": "gw.avro", "fields": _fields + [
        {"name": "note", "type": "string", "default": "none"}]})
    # A field without a default: a v3 reader cannot read v2 data.
    BAD = json.dumps({"type": "record", "name": "Order", "namespace": "gw.avro", "fields": _fields + [
        {"name": "note", "type": "string", "default": "none"}, {"name": "qty", "type": "int"}]})

    def __init__(self, suffix):
        self.texts = {1: self.V1, 2: self.V2, "bad": self.BAD}

    def schema(self, v, refs=()):
        return Schema(self.texts[v], "AVRO", list(refs))

    def serializer(self, client, v):
        return AvroSerializer(client, self.texts[v])

    def deserializer(self, client):
        # The reader schema is v2: v1 records are resolved (note's default).
        return AvroDeserializer(client, self.V2)

    def value(self, v, i):
        d = {"id": i, "item": "item-%d" % i}
        if v == 2:
            d["note"] = "note-%d" % i
        return d

    def read(self, obj):
        return obj

    def expected(self, v, i):
        d = self.value(v, i)
        d.setdefault("note", "none")
        return d


# --- JSON ------------------------------------------------------------------

class JSONType:
    name = "json"
    type = "JSON"

    @staticmethod
    def _doc(props, required=("id", "item")):
        return json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order",
                           "type": "object", "additionalProperties": False,
                           "properties": props, "required": list(required)})

    _props = {"id": {"type": "integer"}, "item": {"type": "string"}}
    V1 = _doc.__func__(_props)
    # An optional property added to a closed content model: compatible.
    V2 = _doc.__func__(dict(_props, note={"type": "string"}))
    # item's type changed: not.
    BAD = _doc.__func__(dict(_props, item={"type": "integer"}, note={"type": "string"}))

    def __init__(self, suffix):
        self.texts = {1: self.V1, 2: self.V2, "bad": self.BAD}

    def schema(self, v, refs=()):
        return Schema(self.texts[v], "JSON", list(refs))

    def serializer(self, client, v):
        return JSONSerializer(self.texts[v], client)

    def deserializer(self, client):
        return JSONDeserializer(self.V2)

    def value(self, v, i):
        d = {"id": i, "item": "item-%d" % i}
        if v == 2:
            d["note"] = "note-%d" % i
        return d

    def read(self, obj):
        return obj

    def expected(self, v, i):
        return self.value(v, i)


# --- PROTOBUF --------------------------------------------------------------

class Protobuf:
    """Order (in gw/order{suffix}.proto) imports Money from
    gw/common{suffix}.proto: confluent's ProtobufSerializer registers the
    import under its file name (a schema reference) before Order."""
    name = "protobuf"
    type = "PROTOBUF"

    def __init__(self, suffix):
        self.common_name = "gw/common%s.proto" % suffix
        self.order_name = "gw/order%s.proto" % suffix
        self.classes = {v: self._build(v) for v in (1, 2, "bad")}

    def _build(self, v):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        F = descriptor_pb2.FieldDescriptorProto
        common = descriptor_pb2.FileDescriptorProto(name=self.common_name, package="gw.common", syntax="proto3")
        money = common.message_type.add(name="Money")
        money.field.add(name="currency", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="currency")
        money.field.add(name="units", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL, json_name="units")
        order = descriptor_pb2.FileDescriptorProto(name=self.order_name, package="gw.orders", syntax="proto3",
                                                   dependency=[self.common_name])
        m = order.message_type.add(name="Order")
        m.field.add(name="id", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL, json_name="id")
        # bad: item's kind changes from string to int32 (Confluent: FIELD_SCALAR_KIND_CHANGED).
        m.field.add(name="item", number=2, type=F.TYPE_INT32 if v == "bad" else F.TYPE_STRING,
                    label=F.LABEL_OPTIONAL, json_name="item")
        m.field.add(name="price", number=3, type=F.TYPE_MESSAGE, type_name=".gw.common.Money",
                    label=F.LABEL_OPTIONAL, json_name="price")
        if v != 1:
            m.field.add(name="note", number=4, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL, json_name="note")
        pool = descriptor_pool.DescriptorPool()
        pool.Add(common)
        pool.Add(order)
        desc = pool.FindMessageTypeByName("gw.orders.Order")
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(desc)
        return message_factory.MessageFactory(pool).GetPrototype(desc)

    def schema(self, v, refs=()):
        import base64
        fd = self.classes[v].DESCRIPTOR.file
        return Schema(base64.standard_b64encode(fd.serialized_pb).decode("ascii"), "PROTOBUF", list(refs))

    def serializer(self, client, v):
        return ProtobufSerializer(self.classes[v], client)

    def deserializer(self, client):
        return ProtobufDeserializer(self.classes[2])

    def value(self, v, i):
        m = self.classes[v](id=i, item="item-%d" % i)
        m.price.currency = "EUR"
        m.price.units = 100 + i
        if v == 2:
            m.note = "note-%d" % i
        return m

    def read(self, m):
        return {"id": m.id, "item": m.item, "price": [m.price.currency, m.price.units], "note": m.note}

    def expected(self, v, i):
        return {"id": i, "item": "item-%d" % i, "price": ["EUR", 100 + i],
                "note": "note-%d" % i if v == 2 else ""}


TYPES = {"avro": Avro, "json": JSONType, "protobuf": Protobuf}


# --- the scenario ----------------------------------------------------------

def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)


def produce(bootstrap, topic, serializer, values, first_key):
    p = SerializingProducer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                             "key.serializer": StringSerializer("utf_8"), "value.serializer": serializer})
    errors = []
    for n, value in enumerate(values):
        p.produce(topic, key="k%d" % (first_key + n), value=value,
                  on_delivery=lambda err, msg: errors.append(err) if err is not None else None)
    check(p.flush(30) == 0, "%s: records left unsent after 30s" % topic)
    check(not errors, "%s: delivery failed: %s" % (topic, errors))


def consume(bootstrap, topic, group, value_deserializer, want):
    """Reads want records from the start of topic with a group; returns
    (key, value) pairs in offset order."""
    c = DeserializingConsumer({"bootstrap.servers": bootstrap, "group.id": group,
                               "auto.offset.reset": "earliest", "enable.auto.commit": False,
                               "key.deserializer": StringDeserializer("utf_8"),
                               "value.deserializer": value_deserializer})
    c.subscribe([topic])
    out = []
    deadline = time.time() + 60
    try:
        while len(out) < want and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            check(m.error() is None, "%s: consume error: %s" % (topic, m.error()))
            out.append((m.offset(), m.key(), m.value()))
    finally:
        c.close()
    check(len(out) == want, "%s: consumed %d records in 60s, want %d" % (topic, len(out), want))
    out.sort(key=lambda r: r[0])
    return [(k, v) for _, k, v in out]


def wire_ids(bootstrap, topic, want):
    """The schema ids in the Confluent framing (magic 0, 4-byte id) of the
    topic's records, read without a group."""
    from confluent_kafka import TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    ids = []
    deadline = time.time() + 60
    try:
        while len(ids) < want and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            check(m.error() is None, "%s: consume error: %s" % (topic, m.error()))
            v = m.value()
            check(len(v) > 5 and v[0] == 0, "%s offset %d: not in the Confluent framing: %r" % (topic, m.offset(), v[:8]))
            ids.append(struct.unpack(">I", v[1:5])[0])
    finally:
        c.close()
    check(len(ids) == want, "%s: read %d raw records, want %d" % (topic, len(ids), want))
    return ids


def expect_error(what, f, status, code):
    try:
        f()
    except SchemaRegistryError as e:
        check(e.http_status_code == status and e.error_code == code,
              "%s: got HTTP %s error_code %s (%s), want HTTP %d error_code %d"
              % (what, e.http_status_code, e.error_code, e.error_message, status, code))
        return e
    fail("%s: succeeded, want HTTP %d error_code %d" % (what, status, code))


def refs_of(registered):
    # RegisteredSchema.schema.references are the answer's dicts in 1.7.0.
    return [SchemaReference(r["name"], r["subject"], r["version"]) for r in registered.schema.references]


def scenario(t, args):
    bootstrap, url, suffix = args.bootstrap, args.registry, args.suffix
    topic = "sr-%s%s" % (t.name, suffix)
    subject = topic + "-value"
    client = SchemaRegistryClient({"url": url})
    create_topic(bootstrap, topic)

    # BACKWARD for the subject (the global level may be anything on a
    # shared store); a subject-level config before the subject exists.
    check(client.set_compatibility(subject, "BACKWARD") == {"compatibility": "BACKWARD"},
          "%s: set_compatibility answer" % subject)
    check(client.get_compatibility(subject) == "BACKWARD", "%s: get_compatibility" % subject)

    # v1: the serializer registers it.
    produce(bootstrap, topic, t.serializer(client, 1), [t.value(1, i) for i in range(N)], 0)
    reg1 = client.get_latest_version(subject)
    check(reg1.version == 1 and reg1.subject == subject, "%s: latest after v1: version %s subject %s"
          % (subject, reg1.version, reg1.subject))
    check(reg1.schema.schema_type == t.type, "%s: schemaType %s, want %s" % (subject, reg1.schema.schema_type, t.type))
    id1 = reg1.schema_id
    refs = refs_of(reg1)
    if t.type == "PROTOBUF":
        # The import, registered by the serializer under its file name.
        check([(r.name, r.subject, r.version) for r in refs] == [(t.common_name, t.common_name, 1)],
              "%s: references %s" % (subject, reg1.schema.references))
        dep = client.get_latest_version(t.common_name)
        check(dep.version == 1 and dep.schema.schema_type == "PROTOBUF", "%s: version %s" % (t.common_name, dep.version))
    else:
        check(refs == [], "%s: references %s" % (subject, reg1.schema.references))

    # v2 is compatible: tested, then registered by the serializer.
    check(client.test_compatibility(subject, t.schema(2, refs)) is True, "%s: v2 not compatible with v1" % subject)
    produce(bootstrap, topic, t.serializer(client, 2), [t.value(2, i) for i in range(N, 2 * N)], N)
    reg2 = client.get_latest_version(subject)
    id2 = reg2.schema_id
    check(reg2.version == 2 and id2 != id1, "%s: latest after v2: version %d id %d (v1 id %d)"
          % (subject, reg2.version, id2, id1))
    check(client.get_versions(subject) == [1, 2], "%s: versions %s" % (subject, client.get_versions(subject)))
    check(client.get_version(subject, 1).schema_id == id1, "%s: version 1 id" % subject)

    # The incompatible one: test_compatibility says so; the serializer's
    # registration and a direct one are refused with 409; nothing changes.
    check(client.test_compatibility(subject, t.schema("bad", refs)) is False, "%s: bad schema compatible" % subject)
    try:
        produce(bootstrap, topic, t.serializer(client, "bad"), [t.value(1, 0)] if t.type != "PROTOBUF"
                else [t.classes["bad"](id=1, item=7)], 100)
        fail("%s: produced with an incompatible schema" % subject)
    except ValueSerializationError as e:
        inner = e.exception
        check(isinstance(inner, SchemaRegistryError) and inner.http_status_code == 409 and inner.error_code == 409,
              "%s: incompatible produce refused with %r, want SchemaRegistryError 409/409" % (subject, inner))
    e = expect_error(subject + " register bad", lambda: SchemaRegistryClient({"url": url}).register_schema(
        subject, t.schema("bad", refs)), 409, 409)
    check(client.get_versions(subject) == [1, 2], "%s: versions after refusals %s" % (subject, client.get_versions(subject)))

    # Registering v1 again (a fresh client: no cache) gives its id back;
    # lookup finds version 1.
    fresh = SchemaRegistryClient({"url": url})
    check(fresh.register_schema(subject, t.schema(1, refs)) == id1, "%s: re-registering v1 gave another id" % subject)
    look = fresh.lookup_schema(subject, t.schema(1, refs))
    check(look.schema_id == id1 and look.version == 1 and look.subject == subject,
          "%s: lookup v1: id %d version %d" % (subject, look.schema_id, look.version))
    check(fresh.get_schema(id2).schema_type == t.type, "%s: get_schema(%d) type" % (subject, id2))

    # Consume with the deserializer: v1 records read with the v2 reader.
    got = consume(bootstrap, topic, "sr-group-%s%s" % (t.name, suffix), t.deserializer(fresh), 2 * N)
    for i, (k, v) in enumerate(got):
        want = t.expected(1 if i < N else 2, i)
        check(k == "k%d" % i and t.read(v) == want, "%s record %d: %r=%r, want k%d=%r" % (topic, i, k, t.read(v), i, want))
    ids = wire_ids(bootstrap, topic, 2 * N)
    check(ids == [id1] * N + [id2] * N, "%s: schema ids on the wire %s, want %d x %d then %d" % (topic, ids, N, id1, id2))
    summary = "%s: ids %d,%d; v1 %d + v2 %d records read back; incompatible refused (%d)" % (
        t.name, id1, id2, N, N, e.error_code)

    if args.registry2:
        # The second gateway: the same schemas under the same ids, read
        # through its registry; a record through its Kafka; all read there.
        client2 = SchemaRegistryClient({"url": args.registry2})
        for sid in (id1, id2):
            a, b = SchemaRegistryClient({"url": url}).get_schema(sid), client2.get_schema(sid)
            check((a.schema_str, a.schema_type) == (b.schema_str, b.schema_type),
                  "schema %d differs between the gateways:\n%s\n%s" % (sid, a.schema_str, b.schema_str))
        check(client2.get_versions(subject) == [1, 2], "%s via gateway 2: versions %s" % (subject, client2.get_versions(subject)))
        latest2 = client2.get_latest_version(subject)
        check(latest2.schema_id == id2 and latest2.version == 2, "%s via gateway 2: latest id %d version %d"
              % (subject, latest2.schema_id, latest2.version))
        check(client2.get_compatibility(subject) == "BACKWARD", "%s via gateway 2: compatibility" % subject)
        expect_error(subject + " register bad via gateway 2", lambda: client2.register_schema(
            subject, t.schema("bad", refs)), 409, 409)
        produce(args.bootstrap2, topic, t.serializer(client2, 2), [t.value(2, 2 * N)], 2 * N)
        got = consume(args.bootstrap2, topic, "sr-group2-%s%s" % (t.name, suffix), t.deserializer(client2), 2 * N + 1)
        for i, (k, v) in enumerate(got):
            want = t.expected(1 if i < N else 2, i)
            check(k == "k%d" % i and t.read(v) == want, "%s via gateway 2 record %d: %r=%r, want %r"
                  % (topic, i, k, t.read(v), want))
        ids = wire_ids(args.bootstrap2, topic, 2 * N + 1)
        check(ids[-1] == id2, "%s: gateway 2's serializer used id %d, want %d" % (topic, ids[-1], id2))
        summary += "; gateway 2: same ids and texts, %d records read" % (2 * N + 1)
    print(summary)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bootstrap")
    ap.add_argument("registry")
    ap.add_argument("suffix")
    ap.add_argument("--registry2")
    ap.add_argument("--bootstrap2")
    ap.add_argument("--types", default="avro,json,protobuf")
    args = ap.parse_args()
    if bool(args.registry2) != bool(args.bootstrap2):
        ap.error("--registry2 and --bootstrap2 go together")
    for name in args.types.split(","):
        scenario(TYPES[name](args.suffix), args)


if __name__ == "__main__":
    main()
