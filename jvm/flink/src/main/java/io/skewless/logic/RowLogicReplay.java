package io.skewless.logic;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Drives {@link RowLogic} from JSON lines on stdin, for the parity test against Python
 * (tests/flink/test_row_logic_parity.py). One line in, one line out:
 *
 * <pre>
 *   {"logic": "ROW LOGIC JSON"}          -> {"ok": true} | {"error": "..."}     (replaces the current logic)
 *   {"record": {NAME: VALUE, ...}}       -> {"row": {NAME: VALUE, ...}} | {"dropped": true} | {"reason": "..."}
 * </pre>
 *
 * A VALUE is {"type": "int" | "float" | "bool" | "str" | "none", "value": ...}: an int as a
 * decimal string, a float as hex (Python's float.hex() in, Double.toHexString out, so bits are
 * compared exactly). An unexpected Java exception answers {"crash": "..."} and the replay goes on.
 */
public final class RowLogicReplay {
    private RowLogicReplay() {}

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16));
        RowLogic logic = null;
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            StringBuilder answer = new StringBuilder();
            try {
                Map<?, ?> command = (Map<?, ?>) Json.parse(line);
                if (command.containsKey("logic")) {
                    logic = RowLogic.fromJson((String) command.get("logic"));
                    answer.append("{\"ok\":true}");
                } else {
                    answer.append(answer(logic, record((Map<?, ?>) command.get("record"))));
                }
            } catch (RuntimeException e) {
                answer.setLength(0);
                answer.append("{\"crash\":");
                Json.writeString(answer, e.toString());
                answer.append('}');
            }
            out.println(answer);
            out.flush(); // one answer per question: the test may talk to this process line by line
        }
    }

    private static Map<String, Object> record(Map<?, ?> json) {
        Map<String, Object> record = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : json.entrySet()) {
            record.put((String) e.getKey(), Node.constant((Map<?, ?>) e.getValue()));
        }
        return record;
    }

    private static String answer(RowLogic logic, Map<String, Object> record) {
        StringBuilder b = new StringBuilder();
        Map<String, Object> row;
        try {
            row = logic.apply(record);
        } catch (RowLogicException e) {
            b.append("{\"reason\":");
            Json.writeString(b, e.reason());
            return b.append('}').toString();
        }
        if (row == null) {
            return "{\"dropped\":true}";
        }
        b.append("{\"row\":{");
        boolean first = true;
        for (Map.Entry<String, Object> e : row.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            Json.writeString(b, e.getKey());
            b.append(':');
            value(b, e.getValue());
        }
        return b.append("}}").toString();
    }

    private static void value(StringBuilder b, Object v) {
        if (v == null) {
            b.append("{\"type\":\"none\",\"value\":null}");
        } else if (v instanceof Boolean) {
            b.append("{\"type\":\"bool\",\"value\":").append(v).append('}');
        } else if (v instanceof Long || v instanceof BigInteger) {
            b.append("{\"type\":\"int\",\"value\":\"").append(v).append("\"}");
        } else if (v instanceof Double) {
            b.append("{\"type\":\"float\",\"value\":\"").append(Double.toHexString((Double) v)).append("\"}");
        } else if (v instanceof String) {
            b.append("{\"type\":\"str\",\"value\":");
            Json.writeString(b, (String) v);
            b.append('}');
        } else {
            b.append("{\"type\":\"unexpected ").append(v.getClass().getSimpleName()).append("\"}");
        }
    }
}
