"""kafka-python (pure Python client) against the gateway: produce with
gzip, consume in a group and commit. Usage: BOOTSTRAP TOPIC GROUP
With KAFKA_SASL_USER and KAFKA_SASL_PASSWORD set, it logs in with SASL/PLAIN."""
import os
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
N = 50
sasl = {}
if os.environ.get("KAFKA_SASL_USER"):
    sasl = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                sasl_plain_username=os.environ["KAFKA_SASL_USER"],
                sasl_plain_password=os.environ["KAFKA_SASL_PASSWORD"])

p = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", acks="all", **sasl)
futures = [p.send(topic, key=b"k%d" % i, value=b"v%d" % i) for i in range(N)]
offsets = [f.get(timeout=30) for f in futures]
p.close()

c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                  auto_offset_reset="earliest", consumer_timeout_ms=5000,
                  enable_auto_commit=False, **sasl)
seen = []
for m in c:
    seen.append(m.value)
    if len(seen) == N:
        break
assert sorted(seen) == sorted(b"v%d" % i for i in range(N)), len(seen)
c.commit()
tps = c.assignment()
assert sum(c.committed(tp) or 0 for tp in tps) == N
c.close()
print("kafka-python ok: %d records" % N)
