import java.util.List;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Asks the name server at args[0] for the route of each topic after it, through RocketMQ's
 * Java client, and prints one line per topic: the queues it found, or the response code and
 * remark of the MQClientException the client threw. java_test.go reads the lines.
 */
public class RouteLookup {
    public static void main(String[] args) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("remoting_test");
        producer.setNamesrvAddr(args[0]);
        producer.setInstanceName("remoting_test_" + ProcessHandle.current().pid());
        producer.start();
        try {
            for (int i = 1; i < args.length; i++) {
                String topic = args[i];
                try {
                    List<MessageQueue> queues = producer.fetchPublishMessageQueues(topic);
                    StringBuilder sb = new StringBuilder("queues " + topic);
                    for (MessageQueue q : queues) {
                        sb.append(' ').append(q.getBrokerName()).append('/').append(q.getQueueId());
                    }
                    System.out.println(sb);
                } catch (MQClientException e) {
                    Throwable t = e;
                    while (t instanceof MQClientException && ((MQClientException) t).getResponseCode() <= 0 && t.getCause() != null) {
                        t = t.getCause();
                    }
                    if (t instanceof MQClientException) {
                        MQClientException m = (MQClientException) t;
                        System.out.println("error " + topic + " " + m.getResponseCode() + " " + m.getErrorMessage());
                    } else {
                        System.out.println("error " + topic + " " + t);
                    }
                }
            }
        } finally {
            producer.shutdown();
        }
    }
}
