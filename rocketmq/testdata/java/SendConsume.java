import java.util.*;
import java.util.concurrent.*;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

// SendConsume NAMESRV TOPIC GROUP: sends 3 messages (tags TagA, TagB, TagA; keys; a user
// property) and a batch of 2 (TagA), then consumes TagA with a push consumer and prints each
// message received as "got TAG KEYS seq BODY", sorted, then "done".
public class SendConsume {
    public static void main(String[] args) throws Exception {
        String ns = args[0], topic = args[1], group = args[2];
        DefaultMQProducer p = new DefaultMQProducer(group + "-producer");
        p.setNamesrvAddr(ns);
        p.setInstanceName("p" + System.nanoTime());
        p.start();
        String[] tags = {"TagA", "TagB", "TagA"};
        for (int i = 0; i < 3; i++) {
            Message m = new Message(topic, tags[i], "key-" + i, ("body-" + i).getBytes("UTF-8"));
            m.putUserProperty("seq", "" + i);
            SendResult r = p.send(m);
            if (r.getSendStatus() != org.apache.rocketmq.client.producer.SendStatus.SEND_OK) throw new RuntimeException("send " + r);
        }
        List<Message> batch = new ArrayList<>();
        for (int i = 3; i < 5; i++) {
            Message m = new Message(topic, "TagA", "key-" + i, ("body-" + i).getBytes("UTF-8"));
            m.putUserProperty("seq", "" + i);
            batch.add(m);
        }
        p.send(batch);
        p.shutdown();

        Set<String> got = new ConcurrentSkipListSet<>();
        CountDownLatch latch = new CountDownLatch(4);
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("c" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "TagA");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                if (got.add("got " + m.getTags() + " " + m.getKeys() + " " + m.getUserProperty("seq") + " " + new String(m.getBody()))) {
                    latch.countDown();
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        latch.await(60, TimeUnit.SECONDS);
        Thread.sleep(1000);
        c.shutdown();
        for (String s : got) System.out.println(s);
        System.out.println("done");
        System.exit(0);
    }
}
