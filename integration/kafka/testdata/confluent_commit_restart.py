"""confluent-kafka (librdkafka): a group's commits survive a gateway restart.
Usage: confluent_commit_restart.py first|resume BOOTSTRAP TOPIC GROUP [COMMITTED]

first: creates TOPIC (2 partitions), produces N records, reads part of them in GROUP
committing each one synchronously (the last with an explicit offset list), and prints
the committed position of each partition as "p:offset,p:offset".
resume (after the restart): GROUP's committed offsets are COMMITTED, and the group,
with auto.offset.reset=earliest (so a lost commit would show as a re-read), reads from
there: exactly the records not read before, and nothing more within 2 s."""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

mode, bootstrap, topic, group = sys.argv[1:5]
N, FIRST = 40, 25


def consumer():
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    return c


if mode == "first":
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(N):
        p.produce(topic, value=b"r%d" % i, partition=i % 2)
    assert p.flush(30) == 0
    c = consumer()
    pos = {}
    deadline = time.time() + 60
    n = 0
    while n < FIRST and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        n += 1
        pos[m.partition()] = m.offset() + 1
        if n < FIRST:
            c.commit(message=m, asynchronous=False)
        else:
            c.commit(offsets=[TopicPartition(topic, k, v) for k, v in pos.items()], asynchronous=False)
    assert n == FIRST, n
    got = {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, k) for k in (0, 1)], timeout=10)}
    for k in (0, 1):
        assert got[k] == pos.get(k, -1001), ("committed before the restart", got, pos)
    c.close()
    print(",".join("%d:%d" % (k, pos.get(k, 0)) for k in (0, 1)))
else:
    want = {int(k): int(v) for k, v in (kv.split(":") for kv in sys.argv[5].split(","))}
    c = consumer()
    got = {tp.partition: tp.offset for tp in c.committed([TopicPartition(topic, k) for k in (0, 1)], timeout=10)}
    for k, v in want.items():
        assert got[k] == (v if v > 0 else -1001), ("committed after the restart", got, "want", want)
    first, count = {}, 0
    deadline = time.time() + 60
    while count < N - FIRST and time.time() < deadline:
        m = c.poll(1.0)
        if m is None:
            continue
        assert m.error() is None, m.error()
        first.setdefault(m.partition(), m.offset())
        count += 1
    assert count == N - FIRST, ("read after the restart", count, "want", N - FIRST)
    for k, v in want.items():
        if v < N // 2:
            assert first.get(k) == v, ("partition", k, "resumed at", first.get(k), "want", v)
    end = time.time() + 2
    while time.time() < end:
        m = c.poll(0.2)
        assert m is None or m.error() is not None, ("read again after the restart", m.partition(), m.offset())
    c.close()
    print("resumed at", {k: first.get(k) for k in want}, "committed", want)
