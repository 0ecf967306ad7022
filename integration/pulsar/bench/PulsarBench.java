// The Java Pulsar client (pulsar-client-original, from the standalone broker's jars) under the
// same loads as integration/kafka/bench's "pulsar" target, as the reference users know best:
//
//   throughput: per size, -bytes of distinct random-letter values produced async to a fresh
//               topic (lz4, batches up to 1 MiB / 10000 messages / 1 ms, 10000 pending), then a
//               Reader from the earliest message reads them all; MB/s of each phase.
//   latency:    one producer at a steady rate, a consumer reading as it goes, the send time in
//               the first 8 bytes of each payload; p50/p99/p99.9 publish to delivery.
//
// A warm-up round of each mode runs first and is not counted (the JIT). Results are appended
// to -json as integration/benchout's JSON lines, target "pulsar-java". Run by scripts/bench.sh:
//
//   javac -cp "$LIB/*" -d OUT PulsarBench.java
//   java -cp "OUT:$LIB/*" PulsarBench -url pulsar://127.0.0.1:6650 -json /tmp/r.jsonl
import java.io.FileWriter;
import java.nio.ByteBuffer;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.concurrent.locks.LockSupport;
import org.apache.pulsar.client.api.*;

public class PulsarBench {
    static String url = "pulsar://127.0.0.1:6650", json = "", mode = "throughput";
    static int runs = 3, rate = 10000, secs = 10;
    static long bytes = 32L << 20;
    static int[] sizes = {100, 1024};
    static int[] partitions = {1}; // >1: a partitioned topic, made through -admin-url
    static String adminURL = "http://127.0.0.1:8080";
    // The latency scenarios its one latency run is the reference of (the
    // Java client's own latency does not depend on the gateway's protocol).
    static String[] latencyAs = {"Kafka"};

    public static void main(String[] args) throws Exception {
        for (int i = 0; i + 1 < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "-url" -> url = v;
                case "-json" -> json = v;
                case "-mode" -> mode = v;
                case "-runs" -> runs = Integer.parseInt(v);
                case "-bytes" -> bytes = Long.parseLong(v);
                case "-rate" -> rate = Integer.parseInt(v);
                case "-secs" -> secs = Integer.parseInt(v);
                case "-latency-as" -> latencyAs = v.split(",");
                case "-partitions" -> partitions = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                case "-admin-url" -> adminURL = v;
                case "-sizes" -> sizes = Arrays.stream(v.split(",")).mapToInt(Integer::parseInt).toArray();
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        try (PulsarClient cl = PulsarClient.builder().serviceUrl(url).build()) {
            if (mode.equals("latency")) latency(cl);
            else throughput(cl);
        }
    }

    static byte[] letters(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < n; i++) b[i] = (byte) ('A' + r.nextInt(26));
        return b;
    }

    static Producer<byte[]> producer(PulsarClient cl, String topic) throws Exception {
        return cl.newProducer().topic(topic).compressionType(CompressionType.LZ4)
                .batchingMaxBytes(1 << 20).batchingMaxMessages(10000)
                .batchingMaxPublishDelay(1, TimeUnit.MILLISECONDS)
                .maxPendingMessages(10000).blockIfQueueFull(true).create();
    }

    static String topic(String what) {
        return "persistent://public/default/java-" + what + "-" + System.nanoTime();
    }

    static void throughput(PulsarClient cl) throws Exception {
        Map<String, List<Double>> res = new LinkedHashMap<>();
        for (int r = -1; r < runs; r++) { // round -1: JIT warm-up, not counted
            for (int parts : partitions) for (int size : sizes) {
                int n = (int) ((r < 0 ? Math.min(bytes, 8L << 20) : bytes) / size);
                String t = topic("tp");
                if (parts > 1) createPartitioned(t, parts);
                // The scenario names of integration/kafka/bench (its shape).
                String shape = size + " B" + (parts > 1 ? " x " + parts + " partitions" : "");
                byte[] all = letters(n * size);
                double pMBs, cMBs;
                try (Producer<byte[]> p = producer(cl, t)) {
                    AtomicReference<Throwable> err = new AtomicReference<>();
                    long t0 = System.nanoTime();
                    CompletableFuture<MessageId> last = null;
                    for (int i = 0; i < n; i++) {
                        last = p.sendAsync(Arrays.copyOfRange(all, i * size, (i + 1) * size));
                        last.exceptionally(e -> { err.set(e); return null; });
                    }
                    p.flush();
                    last.get();
                    if (err.get() != null) throw new RuntimeException(err.get());
                    double pd = (System.nanoTime() - t0) / 1e9;
                    // A fresh reader after the produce, timed from its creation, as the Go
                    // programs' consumers are (one made before would read from its queue).
                    t0 = System.nanoTime();
                    try (Reader<byte[]> rd = cl.newReader().topic(t).startMessageId(MessageId.earliest).receiverQueueSize(10000).create()) {
                        for (int i = 0; i < n; i++) {
                            if (rd.readNext(60, TimeUnit.SECONDS) == null) throw new RuntimeException("read " + i + " of " + n);
                        }
                    }
                    double cd = (System.nanoTime() - t0) / 1e9;
                    double mb = (double) n * size / 1e6;
                    pMBs = mb / pd;
                    cMBs = mb / cd;
                }
                System.err.printf("run %d pulsar-java %s: produce %7.1f MB/s | consume %7.1f MB/s%s%n", r, shape, pMBs, cMBs, r < 0 ? " (warm-up)" : "");
                if (r < 0) continue;
                res.computeIfAbsent("produce " + shape, k -> new ArrayList<>()).add(pMBs);
                res.computeIfAbsent("consume " + shape, k -> new ArrayList<>()).add(cMBs);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (var e : res.entrySet()) {
            sb.append(String.format(Locale.ROOT, "{\"group\":\"kafka\",\"scenario\":\"%s\",\"metric\":\"MB/s\",\"target\":\"pulsar-java\",\"value\":%f,\"runs\":%d}%n",
                    e.getKey(), median(e.getValue()), e.getValue().size()));
        }
        emit(sb.toString());
    }

    // createPartitioned makes a partitioned topic through Pulsar's admin API
    // (a Reader of it reads every partition).
    static void createPartitioned(String topic, int parts) throws Exception {
        String path = topic.replace("persistent://", "/admin/v2/persistent/") + "/partitions";
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(adminURL + path))
                .header("Content-Type", "application/json")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString(Integer.toString(parts))).build();
        var resp = java.net.http.HttpClient.newHttpClient().send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() / 100 != 2) throw new RuntimeException("creating " + topic + ": " + resp.statusCode() + " " + resp.body());
    }

    static void latency(PulsarClient cl) throws Exception {
        int size = sizes[0];
        List<double[]> pcts = new ArrayList<>();
        for (int r = -1; r < runs; r++) {
            int n = rate * (r < 0 ? Math.max(1, secs / 2) : secs);
            String t = topic("lat");
            long[] lat = new long[n];
            AtomicInteger got = new AtomicInteger(), stored = new AtomicInteger();
            try (Producer<byte[]> p = producer(cl, t);
                 Consumer<byte[]> c = cl.newConsumer().topic(t).subscriptionName("lat")
                         .subscriptionInitialPosition(SubscriptionInitialPosition.Earliest).receiverQueueSize(10000)
                         .messageListener((cons, m) -> {
                             long sent = ByteBuffer.wrap(m.getData()).getLong();
                             int i = got.getAndIncrement();
                             if (i < lat.length) lat[i] = nowNanos() - sent;
                             stored.incrementAndGet(); // publishes lat[i] to the main thread
                             cons.acknowledgeAsync(m);
                         }).subscribe()) {
                byte[] all = letters(n * size);
                long interval = 1_000_000_000L / rate, start = System.nanoTime();
                for (int i = 0; i < n; ) {
                    long due = start + i * interval, now = System.nanoTime();
                    if (due > now) LockSupport.parkNanos(due - now);
                    long el = System.nanoTime() - start;
                    for (; i < n && i * interval <= el; i++) {
                        byte[] v = Arrays.copyOfRange(all, i * size, (i + 1) * size);
                        ByteBuffer.wrap(v).putLong(nowNanos());
                        p.sendAsync(v);
                    }
                }
                p.flush();
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (stored.get() < n && System.nanoTime() < deadline) Thread.sleep(10);
                if (stored.get() < n) throw new RuntimeException("received " + got.get() + " of " + n);
            }
            long[] counted = Arrays.copyOfRange(lat, n / 10, n);
            Arrays.sort(counted);
            double[] q = {pct(counted, 0.50), pct(counted, 0.99), pct(counted, 0.999)};
            System.err.printf("run %d pulsar-java p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms%s%n", r, q[0], q[1], q[2], r < 0 ? " (warm-up)" : "");
            if (r >= 0) pcts.add(q);
        }
        String[] names = {"p50 ms", "p99 ms", "p99.9 ms"};
        StringBuilder sb = new StringBuilder();
        for (String as : latencyAs) {
            for (int j = 0; j < 3; j++) {
                List<Double> v = new ArrayList<>();
                for (double[] q : pcts) v.add(q[j]);
                sb.append(String.format(Locale.ROOT, "{\"group\":\"latency\",\"scenario\":\"%s %d/s x %d B\",\"metric\":\"%s\",\"target\":\"pulsar-java\",\"value\":%f,\"lower\":true,\"runs\":%d}%n",
                        as, rate, size, names[j], median(v), v.size()));
            }
        }
        emit(sb.toString());
    }

    // Wall-clock nanoseconds, as the Go programs stamp (time.Now().UnixNano()).
    static long nowNanos() {
        java.time.Instant i = java.time.Instant.now();
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    static double pct(long[] sorted, double q) {
        int i = Math.min(sorted.length - 1, (int) (q * sorted.length));
        return sorted[i] / 1e6;
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    static void emit(String lines) throws Exception {
        System.out.print(lines);
        if (!json.isEmpty()) try (FileWriter w = new FileWriter(json, true)) { w.write(lines); }
    }
}
