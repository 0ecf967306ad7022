import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Kafka's transactional producer, step by step: a transaction aborted, one committed, then a
 * second producer with the same transactional.id fences the first, whose commit must then throw
 * ProducerFencedException, and the second commits its own. Every step prints one line; a step
 * that does not behave exits 1 with the reason.
 *
 * Usage: TxnProducer bootstrap topic transactional-id [fencer-bootstrap]
 * (the second producer connects to fencer-bootstrap: another gateway, as after a failover)
 */
public class TxnProducer {
    static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        // Fail a step within the test's time, not after the 60 s default.
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 20000);
        return new KafkaProducer<>(p);
    }

    static void send(KafkaProducer<String, String> p, String topic, String prefix) throws Exception {
        for (int i = 0; i < 10; i++) {
            // get(): the broker has the record (in the open transaction) before the next step.
            p.send(new ProducerRecord<>(topic, i % 2, prefix + "-" + i, prefix + "-" + i)).get();
        }
    }

    static void step(String s) {
        System.out.println("STEP " + s);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1], txnId = args[2];
        String fencerBootstrap = args.length > 3 ? args[3] : bootstrap;
        KafkaProducer<String, String> first = producer(bootstrap, txnId);
        first.initTransactions();
        step("initTransactions");
        first.beginTransaction();
        send(first, topic, "aborted");
        first.abortTransaction();
        step("abortTransaction");
        first.beginTransaction();
        send(first, topic, "committed");
        first.commitTransaction();
        step("commitTransaction");

        first.beginTransaction();
        send(first, topic, "fenced");
        KafkaProducer<String, String> second = producer(fencerBootstrap, txnId);
        // Fences the first and aborts its open transaction.
        second.initTransactions();
        step("second initTransactions");
        try {
            first.commitTransaction();
            System.out.println("FAIL the fenced producer committed");
            System.exit(1);
        } catch (ProducerFencedException e) {
            step("first fenced: " + e.getClass().getSimpleName());
        }
        first.close();
        second.beginTransaction();
        send(second, topic, "second");
        second.commitTransaction();
        step("second commitTransaction");
        second.close();
        System.out.println("OK");
    }
}
