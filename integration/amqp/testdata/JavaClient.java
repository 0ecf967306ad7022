import com.rabbitmq.client.*;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

// The RabbitMQ Java client (com.rabbitmq:amqp-client) against the gateway: publish with
// confirms, consume with manual acks, a mandatory publish returned as NO_ROUTE, and a nack
// from a full reject-publish queue. Args: amqp URI, a suffix keeping names apart. Prints
// one line per step; any failure exits non-zero.
public class JavaClient {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
        System.out.println("ok " + what);
    }

    public static void main(String[] args) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(args[0]);
        String q = "java-q" + args[1];
        try (Connection conn = f.newConnection("java-it")) {
            Channel ch = conn.createChannel();
            ch.queueDeclare(q, true, false, false, null);

            // Publish with confirms.
            ch.confirmSelect();
            for (int i = 0; i < 10; i++) {
                ch.basicPublish("", q, MessageProperties.PERSISTENT_TEXT_PLAIN, ("m" + i).getBytes(StandardCharsets.UTF_8));
            }
            ch.waitForConfirmsOrDie(10_000);
            check(ch.queueDeclarePassive(q).getMessageCount() == 10, "10 confirmed, message_count 10");

            // Mandatory publish to nowhere: basic.return 312 NO_ROUTE, then the ack.
            BlockingQueue<Return> returns = new ArrayBlockingQueue<>(1);
            ch.addReturnListener(returns::add);
            ch.basicPublish("", "nowhere" + args[1], true, MessageProperties.TEXT_PLAIN, "lost".getBytes(StandardCharsets.UTF_8));
            ch.waitForConfirmsOrDie(10_000);
            Return r = returns.poll(0, TimeUnit.SECONDS);
            check(r != null && r.getReplyCode() == 312 && r.getReplyText().equals("NO_ROUTE")
                    && new String(r.getBody(), StandardCharsets.UTF_8).equals("lost"), "mandatory publish returned NO_ROUTE before its ack");

            // Consume with manual acks, prefetch 3.
            Channel cch = conn.createChannel();
            cch.basicQos(3);
            BlockingQueue<String> got = new ArrayBlockingQueue<>(20);
            cch.basicConsume(q, false, new DefaultConsumer(cch) {
                @Override
                public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) throws java.io.IOException {
                    got.add(new String(body, StandardCharsets.UTF_8));
                    getChannel().basicAck(env.getDeliveryTag(), false);
                }
            });
            for (int i = 0; i < 10; i++) {
                String m = got.poll(10, TimeUnit.SECONDS);
                check(("m" + i).equals(m), "consumed m" + i + " in order");
            }

            // A full reject-publish queue nacks.
            Map<String, Object> limit = new HashMap<>();
            limit.put("x-max-length", 1);
            limit.put("x-overflow", "reject-publish");
            String full = "java-full" + args[1];
            ch.queueDeclare(full, false, false, true, limit);
            ch.basicPublish("", full, null, "a".getBytes(StandardCharsets.UTF_8));
            check(ch.waitForConfirms(10_000), "first message into x-max-length 1 acked");
            ch.basicPublish("", full, null, "b".getBytes(StandardCharsets.UTF_8));
            check(!ch.waitForConfirms(10_000), "second message nacked (reject-publish)");
            ch.queueDelete(full);
            ch.queueDelete(q);
        }
    }
}
