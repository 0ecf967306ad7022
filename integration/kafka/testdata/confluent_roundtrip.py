"""confluent-kafka (librdkafka) against the gateway: admin create, an
idempotent keyed producer with headers, a consumer group that commits, and
committed offsets read back. Usage: confluent_roundtrip.py BOOTSTRAP TOPIC GROUP
With KAFKA_SASL_USER and KAFKA_SASL_PASSWORD set, every client logs in
with SASL/PLAIN."""
import os
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
N = 200
sasl = {}
if os.environ.get("KAFKA_SASL_USER"):
    sasl = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN",
            "sasl.username": os.environ["KAFKA_SASL_USER"],
            "sasl.password": os.environ["KAFKA_SASL_PASSWORD"]}

admin = AdminClient({"bootstrap.servers": bootstrap, **sasl})
fs = admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
fs[topic].result(timeout=10)
md = admin.list_topics(topic, timeout=10)
assert len(md.topics[topic].partitions) == 3, md.topics[topic].partitions

delivered = []
def on_delivery(err, msg):
    assert err is None, err
    delivered.append((msg.partition(), msg.offset(), msg.key()))

p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
              "compression.type": "zstd", "linger.ms": 5, **sasl})
for i in range(N):
    p.produce(topic, key=b"key-%d" % (i % 10), value=b"value-%d" % i,
              headers=[("n", str(i).encode())], on_delivery=on_delivery)
assert p.flush(30) == 0
assert len(delivered) == N, len(delivered)
# Offsets per partition are contiguous from 0.
per = {}
for part, off, _ in sorted(delivered):
    assert off == per.get(part, 0), (part, off)
    per[part] = off + 1

c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
              "auto.offset.reset": "earliest", "enable.auto.commit": False, **sasl})
c.subscribe([topic])
got = {}
deadline = time.time() + 60
while len(got) < N and time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    assert m.error() is None, m.error()
    hdrs = dict(m.headers() or [])
    got[m.value()] = (m.partition(), m.offset(), m.key(), hdrs.get("n"))
assert len(got) == N, len(got)
for part, off, key in delivered:
    pass
assert got[b"value-7"][2] == b"key-7" and got[b"value-7"][3] == b"7", got[b"value-7"]
c.commit(asynchronous=False)
committed = c.committed([TopicPartition(topic, i) for i in range(3)], timeout=10)
assert sum(tp.offset for tp in committed) == N, committed
lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
assert lo == 0 and hi == per[0], (lo, hi, per)
c.close()
print("confluent-kafka ok: %d records, partitions %s" % (N, per))
