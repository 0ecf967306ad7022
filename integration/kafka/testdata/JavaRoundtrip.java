// The Java client (kafka-clients 4.x: idempotent producer and classic
// consumer group by default) against the gateway. Run as a single-file
// program: java -cp <kafka-clients and its deps> JavaRoundtrip.java BOOTSTRAP TOPIC [CODEC [GROUP]]
import java.time.Duration;
import java.util.*;
import java.util.concurrent.*;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.clients.producer.*;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;

public class JavaRoundtrip {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int n = 300;
        Properties common = new Properties();
        common.put("bootstrap.servers", bootstrap);
        String user = System.getenv("KAFKA_SASL_USER");
        if (user != null && !user.isEmpty()) { // SASL/PLAIN login
            common.put("security.protocol", "SASL_PLAINTEXT");
            common.put("sasl.mechanism", "PLAIN");
            common.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" +
                user + "\" password=\"" + System.getenv("KAFKA_SASL_PASSWORD") + "\";");
        }

        try (Admin admin = Admin.create(common)) {
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
            int parts = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
            check(parts == 3, "partitions " + parts);
        }

        Properties pp = new Properties();
        pp.putAll(common);
        pp.put("key.serializer", StringSerializer.class.getName());
        pp.put("value.serializer", StringSerializer.class.getName());
        pp.put("compression.type", args.length > 2 ? args[2] : "lz4");
        pp.put("linger.ms", "5");
        Map<Integer, Long> next = new HashMap<>();
        try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
            List<Future<RecordMetadata>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(p.send(new ProducerRecord<>(topic, "key-" + (i % 7), "value-" + i)));
            }
            for (Future<RecordMetadata> f : fs) {
                RecordMetadata md = f.get(30, TimeUnit.SECONDS);
                next.merge(md.partition(), 1L, Long::sum);
            }
        }

        Properties cp = new Properties();
        cp.putAll(common);
        cp.put("group.id", args.length > 3 ? args[3] : "java-group");
        cp.put("auto.offset.reset", "earliest");
        cp.put("enable.auto.commit", "false");
        cp.put("key.deserializer", StringDeserializer.class.getName());
        cp.put("value.deserializer", StringDeserializer.class.getName());
        Set<String> seen = new HashSet<>();
        Map<Integer, Long> expect = new HashMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
            c.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 60_000;
            while (seen.size() < n && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    long want = expect.getOrDefault(r.partition(), 0L);
                    check(r.offset() == want, "partition " + r.partition() + " offset " + r.offset() + " want " + want);
                    expect.put(r.partition(), want + 1);
                    seen.add(r.value());
                }
            }
            check(seen.size() == n, "consumed " + seen.size());
            c.commitSync();
            long sum = 0;
            for (var e : c.committed(new HashSet<>(List.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1), new TopicPartition(topic, 2)))).entrySet()) {
                sum += e.getValue() == null ? 0 : e.getValue().offset();
            }
            check(sum == n, "committed sum " + sum);
        }
        check(expect.equals(next), "per-partition counts " + expect + " vs produced " + next);
        System.out.println("java ok: " + n + " records, partitions " + expect);
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            System.err.println("FAIL: " + what);
            System.exit(1);
        }
    }
}
