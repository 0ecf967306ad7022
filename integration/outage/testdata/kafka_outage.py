"""confluent-kafka clients for the broker-outage test (outage_test.go).

  kafka_outage.py create BOOTSTRAP TOPIC PARTITIONS
      creates the topic (CreateTopics through the AdminClient).
  kafka_outage.py produce BOOTSTRAP TOPIC PARTITIONS
      acks=all, idempotent producer; values p0, p1, ... to partitions in
      turn, about 200 a second, until stdin closes; then flushes. Prints one
      JSON line per delivery report: {"v", "p", "o"} or {"v", "err"}, and
      {"refused": value, "err"} when produce() itself refuses a record.
  kafka_outage.py consume BOOTSTRAP TOPIC GROUP
      a group member from the earliest offset, until stdin closes; one JSON
      line {"v", "p", "o"} per record, and {"assigned": n} on an assignment.
  kafka_outage.py dump BOOTSTRAP TOPIC PARTITIONS
      every record of every partition up to its high watermark.

librdkafka's own log lines go to stderr as "LOG <level> <fac> <message>",
so the test sees e.g. "partition count changed".
"""
import json
import logging
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

log = logging.getLogger("rdkafka")
_h = logging.StreamHandler(sys.stderr)
_h.setFormatter(logging.Formatter("LOG %(levelname)s %(message)s"))
log.addHandler(_h)
log.setLevel(logging.DEBUG)

out_lock = threading.Lock()


def emit(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def stdin_closed():
    """An event set when stdin reaches EOF: the test's stop signal."""
    ev = threading.Event()

    def wait():
        sys.stdin.read()
        ev.set()

    threading.Thread(target=wait, daemon=True).start()
    return ev


def create(bootstrap, topic, partitions):
    a = AdminClient({"bootstrap.servers": bootstrap, "logger": log})
    for f in a.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(30)


def produce(bootstrap, topic, partitions):
    stop = stdin_closed()
    p = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        # Longer than the outage: librdkafka retries until then.
        "message.timeout.ms": 180000,
        "logger": log,
    })

    def report(err, msg):
        v = msg.value().decode()
        if err is not None:
            emit({"v": v, "err": str(err)})
        else:
            emit({"v": v, "p": msg.partition(), "o": msg.offset()})

    i = 0
    while not stop.is_set():
        v = "p%d" % i
        try:
            p.produce(topic, value=v.encode(), partition=i % partitions, on_delivery=report)
        except (BufferError, KafkaException) as e:
            emit({"refused": v, "err": str(e)})
        i += 1
        p.poll(0.005)
    left = p.flush(120)
    emit({"done": i, "unflushed": left})


def consume(bootstrap, topic, group):
    stop = stdin_closed()
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        # Shorter than the outage: a heartbeat answered late (held behind
        # an offset commit waiting for the broker) ends the membership.
        "session.timeout.ms": 10000,
        "logger": log,
    })
    # The test starts producing once the partitions are assigned.
    c.subscribe([topic], on_assign=lambda _, parts: emit({"assigned": len(parts)}))
    while not stop.is_set():
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            print("LOG ERROR consume: %s" % m.error(), file=sys.stderr)
            continue
        emit({"v": m.value().decode(), "p": m.partition(), "o": m.offset()})
    c.close()


def dump(bootstrap, topic, partitions):
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "dump",
        "enable.auto.commit": False,
        "logger": log,
    })
    ends = {}
    for part in range(partitions):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=30)
        if hi > lo:
            ends[part] = hi
    c.assign([TopicPartition(topic, part, 0) for part in ends])
    deadline = time.time() + 60
    while ends and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        emit({"v": m.value().decode(), "p": m.partition(), "o": m.offset()})
        if m.offset() + 1 >= ends.get(m.partition(), 0):
            ends.pop(m.partition(), None)
    c.close()
    if ends:
        sys.exit("dump: partitions %s not read to their end" % sorted(ends))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "create":
        create(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "consume":
        consume(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "dump":
        dump(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("usage: kafka_outage.py produce|consume|dump ...")
