import java.util.*;
import java.util.concurrent.*;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

// Orderly NAMESRV TOPIC GROUP: sends 20 messages to one queue through a selector (ordered
// messages), consumes them with an orderly push consumer (queue locks) and prints the
// queue and seq of each in the order consumed, then "done".
public class Orderly {
    public static void main(String[] args) throws Exception {
        String ns = args[0], topic = args[1], group = args[2];
        DefaultMQProducer p = new DefaultMQProducer(group + "-producer");
        p.setNamesrvAddr(ns);
        p.setInstanceName("p" + System.nanoTime());
        p.start();
        for (int i = 0; i < 20; i++) {
            Message m = new Message(topic, "T", ("" + i).getBytes("UTF-8"));
            m.putUserProperty("seq", "" + i);
            p.send(m, (mqs, msg, arg) -> mqs.get(1), null);
        }
        p.shutdown();

        List<String> got = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch latch = new CountDownLatch(20);
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(ns);
        c.setInstanceName("c" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.add(m.getQueueId() + " " + m.getUserProperty("seq"));
                latch.countDown();
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        c.start();
        latch.await(60, TimeUnit.SECONDS);
        c.shutdown();
        for (String s : got) System.out.println(s);
        System.out.println("done");
        System.exit(0);
    }
}
