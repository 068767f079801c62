package io.skewless.flink;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.apache.flink.types.Row;

/**
 * Test harness of the decode stage: decodes records given on stdin as {@link DecodeRecordsFunction}
 * does and prints each outcome, for tests/flink/test_decode_parity.py to hold against the Python
 * stage. Text in and out is base64 (UTF-8), so any bytes fit on a line.
 *
 * <pre>
 * in:  decoder TIME_FIELD N_SCHEMAS N_FIELDS, then N_SCHEMAS lines SCHEMA_TEXT, N_FIELDS lines NAME TYPE
 *        -> ok | error MESSAGE
 *      record VALUE|- TOPIC PARTITION OFFSET   (VALUE base64, - for null)
 *        -> row CELL...    one cell per column: ~ null, s:TEXT, l:LONG, i:INT, d:DOUBLE_BITS_HEX, b:true|false, y:BYTES
 *        -> dead y:VALUE h:NAME,VALUE...   the dead letter's bytes and headers
 * </pre>
 */
public final class DecodeReplay {
    private DecodeReplay() {}

    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        BufferedWriter out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        EventDecoder decoder = null;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] w = line.split(" ");
            if (w[0].equals("decoder")) {
                String[] schemas = new String[Integer.parseInt(w[2])];
                String[] names = new String[Integer.parseInt(w[3])];
                String[] types = new String[names.length];
                for (int i = 0; i < schemas.length; i++) {
                    schemas[i] = text(in.readLine());
                }
                for (int i = 0; i < names.length; i++) {
                    String[] f = in.readLine().split(" ");
                    names[i] = text(f[0]);
                    types[i] = f[1];
                }
                try {
                    decoder = DecodeRecordsFunction.create(schemas, names, types, text(w[1])).newDecoder();
                    out.write("ok\n");
                } catch (IllegalArgumentException e) {
                    decoder = null;
                    out.write("error " + b64(e.getMessage()) + "\n");
                }
            } else if (w[0].equals("record")) {
                byte[] value = w[1].equals("-") ? null : Base64.getDecoder().decode(w[1]);
                Row input = Row.of(value, text(w[2]), Integer.valueOf(w[3]), Long.valueOf(w[4]));
                out.write(outcome(decoder, input));
                out.write('\n');
            } else {
                throw new IllegalArgumentException("unknown command: " + line);
            }
        }
        out.flush();
    }

    private static String outcome(EventDecoder decoder, Row input) {
        StringBuilder line = new StringBuilder();
        try {
            Row row = DecodeRecordsFunction.row(decoder.decode((byte[]) input.getField(0)), input);
            line.append("row");
            for (int i = 0; i < row.getArity(); i++) {
                line.append(' ').append(cell(row.getField(i)));
            }
        } catch (EventDecoder.DecodeException e) {
            Row letter = DecodeRecordsFunction.deadLetter((byte[]) input.getField(0), e.getMessage(), input.getField(1),
                    input.getField(2), input.getField(3));
            line.append("dead ").append(cell(letter.getField(0)));
            @SuppressWarnings("unchecked")
            Map<String, byte[]> headers = (Map<String, byte[]>) letter.getField(1);
            for (Map.Entry<String, byte[]> h : headers.entrySet()) {
                line.append(" h:").append(b64(h.getKey())).append(',').append(Base64.getEncoder().encodeToString(h.getValue()));
            }
        }
        return line.toString();
    }

    private static String cell(Object v) {
        if (v == null) {
            return "~";
        } else if (v instanceof String s) {
            return "s:" + b64(s);
        } else if (v instanceof Long l) {
            return "l:" + l;
        } else if (v instanceof Integer i) {
            return "i:" + i;
        } else if (v instanceof Double d) {
            return "d:" + Long.toHexString(Double.doubleToRawLongBits(d));
        } else if (v instanceof Boolean b) {
            return "b:" + b;
        } else if (v instanceof byte[] b) {
            return "y:" + Base64.getEncoder().encodeToString(b);
        }
        throw new IllegalStateException("unexpected cell " + v.getClass());
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(String b64) {
        return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }
}
