package io.skewless.logic;

import java.util.List;
import java.util.Map;

/**
 * Python's {@code str()} and {@code repr()} of event values, for the reasons the JVM stages put in
 * dead letters: they must read exactly as the Python stages' (parity-tested), so they share
 * {@link Text}'s Unicode 14 tables and float layout with the row logic.
 *
 * <p>Values: null, Boolean, Long / Integer / BigInteger, Double, String, byte[], and the List and
 * Map (string keys) an Avro record field can decode to.
 */
public final class PyValues {
    private PyValues() {}

    /** {@code str(value)}: a str is itself, anything else its repr. */
    public static String str(Object value) {
        return value instanceof String s ? s : repr(value);
    }

    public static String repr(Object value) {
        StringBuilder out = new StringBuilder();
        append(out, value);
        return out.toString();
    }

    /** {@code not s.strip()}: empty or only characters Python's str.isspace() accepts. */
    public static boolean isBlank(String s) {
        return s.codePoints().allMatch(Text::isSpace);
    }

    private static void append(StringBuilder out, Object value) {
        if (value instanceof String s) {
            out.append(Text.repr(s));
        } else if (value instanceof Integer i) {
            out.append(i.longValue());
        } else if (value instanceof byte[] b) {
            appendBytes(out, b);
        } else if (value instanceof List<?> list) {
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                out.append(i == 0 ? "" : ", ");
                append(out, list.get(i));
            }
            out.append(']');
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(first ? "" : ", ");
                first = false;
                append(out, e.getKey());
                out.append(": ");
                append(out, e.getValue());
            }
            out.append('}');
        } else {
            out.append(Functions.str(value)); // None, True / False, ints, floats
        }
    }

    /** repr(bytes): printable ASCII as is, the rest as \xNN, quoted as CPython chooses. */
    private static void appendBytes(StringBuilder out, byte[] bytes) {
        boolean single = false;
        boolean dbl = false;
        for (byte b : bytes) {
            single |= b == '\'';
            dbl |= b == '"';
        }
        char quote = single && !dbl ? '"' : '\'';
        out.append('b').append(quote);
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == quote || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c == '\t' || c == '\n' || c == '\r') {
                out.append(c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r");
            } else if (c < ' ' || c >= 0x7f) {
                out.append(String.format("\\x%02x", c));
            } else {
                out.append((char) c);
            }
        }
        out.append(quote);
    }
}
