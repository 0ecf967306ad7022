import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.rocketmq.filter.expression.BooleanExpression;
import org.apache.rocketmq.filter.expression.EvaluationContext;
import org.apache.rocketmq.filter.parser.SelectorParser;

/**
 * Evaluates SQL92 selectors with RocketMQ's own filter module, for java_test.go. Input: lines
 * of hex-encoded UTF-8; the first is the properties ("k\u0001v\u0002..."), every other an
 * expression. Output per expression: P (refused by the parser), E (evaluation throws), N
 * (NULL), T, F.
 */
public class Eval {
    public static void main(String[] args) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Map<String, String> props = new HashMap<>();
        for (String pair : unhex(r.readLine()).split("\u0002")) {
            String[] kv = pair.split("\u0001", 2);
            if (kv.length == 2) props.put(kv[0], kv[1]);
        }
        EvaluationContext ctx = new EvaluationContext() {
            public Object get(String name) { return props.get(name); }
            public Map<String, Object> keyValues() { return new HashMap<>(props); }
        };
        StringBuilder out = new StringBuilder();
        for (String line; (line = r.readLine()) != null; ) {
            String res;
            try {
                BooleanExpression e = SelectorParser.parse(unhex(line));
                try {
                    Object v = e.evaluate(ctx);
                    res = v == null ? "N" : v instanceof Boolean ? ((Boolean) v ? "T" : "F") : "X";
                } catch (Throwable t) {
                    res = "E";
                }
            } catch (Throwable t) {
                res = "P";
            }
            out.append(res).append('\n');
        }
        System.out.print(out);
    }

    static String unhex(String h) {
        byte[] b = new byte[h.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        return new String(b, StandardCharsets.UTF_8);
    }
}
