package io.skewless.flink;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;

/**
 * Python 3's {@code repr()} of decoded Avro values (None, bool, int, float, str, bytes, list, dict), so
 * that dead-letter reasons built in the JVM read byte for byte like the Python decoder's.
 *
 * <p>Printable characters follow the JVM's Unicode tables; Python 3.11 uses Unicode 14, Java 17
 * Unicode 13, so a character assigned in between is escaped here and printed there.
 */
final class PyRepr {
    private static final int MAX_FLOAT_DIGITS = 17;
    /** Python's exponent notation thresholds for repr(float): decimal point position <= -4 or > 16. */
    private static final int MIN_FIXED_DECPT = -3;
    private static final int MAX_FIXED_DECPT = 16;

    private PyRepr() {}

    static String repr(Object value) {
        StringBuilder out = new StringBuilder();
        append(out, value);
        return out.toString();
    }

    /** {@code str(value)}: the repr, except that a str is itself. */
    static String str(Object value) {
        return value instanceof String s ? s : repr(value);
    }

    @SuppressWarnings("unchecked")
    private static void append(StringBuilder out, Object value) {
        if (value == null) {
            out.append("None");
        } else if (value instanceof Boolean b) {
            out.append(b ? "True" : "False");
        } else if (value instanceof Long || value instanceof Integer) {
            out.append(value);
        } else if (value instanceof Double d) {
            out.append(floatRepr(d));
        } else if (value instanceof String s) {
            appendString(out, s);
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
            for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
                out.append(first ? "" : ", ");
                first = false;
                appendString(out, e.getKey());
                out.append(": ");
                append(out, e.getValue());
            }
            out.append('}');
        } else {
            throw new IllegalArgumentException("no Python repr for " + value.getClass().getName());
        }
    }

    /** repr(float): the shortest decimal that reads back as {@code x}, laid out as CPython does. */
    static String floatRepr(double x) {
        if (Double.isNaN(x)) {
            return "nan";
        }
        if (Double.isInfinite(x)) {
            return x > 0 ? "inf" : "-inf";
        }
        String sign = (Double.doubleToRawLongBits(x) < 0) ? "-" : "";
        if (x == 0) {
            return sign + "0.0";
        }
        BigDecimal shortest = shortestDigits(Math.abs(x)).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int decpt = digits.length() - shortest.scale(); // value = 0.<digits> * 10^decpt
        StringBuilder out = new StringBuilder(sign);
        if (decpt < MIN_FIXED_DECPT || decpt > MAX_FIXED_DECPT) {
            out.append(digits.charAt(0));
            if (digits.length() > 1) {
                out.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            out.append(exp < 0 ? "e-" : "e+");
            if (Math.abs(exp) < 10) {
                out.append('0');
            }
            out.append(Math.abs(exp));
        } else if (decpt <= 0) {
            out.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            out.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            out.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return out.toString();
    }

    /**
     * The fewest significant digits that round-trip, the nearest such decimal when two do (David
     * Gay's mode 0, which CPython uses). Java 17's Double.toString is not always the shortest.
     */
    private static BigDecimal shortestDigits(double positive) {
        BigDecimal exact = new BigDecimal(positive);
        for (int p = 1; p <= MAX_FLOAT_DIGITS; p++) {
            BigDecimal down = exact.round(new MathContext(p, RoundingMode.FLOOR));
            BigDecimal up = exact.round(new MathContext(p, RoundingMode.CEILING));
            boolean downOk = down.doubleValue() == positive;
            boolean upOk = up.doubleValue() == positive;
            if (downOk && upOk) {
                return exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            }
            if (downOk || upOk) {
                return downOk ? down : up;
            }
        }
        throw new AssertionError("17 significant digits always round-trip a double");
    }

    private static void appendString(StringBuilder out, String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        out.append(quote);
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            if (c == quote || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c == '\t' || c == '\n' || c == '\r') {
                out.append(c == '\t' ? "\\t" : c == '\n' ? "\\n" : "\\r");
            } else if (c < ' ' || c == 0x7f) {
                out.append(String.format("\\x%02x", c));
            } else if (c < 0x7f || isPrintable(c)) {
                out.appendCodePoint(c);
            } else if (c <= 0xff) {
                out.append(String.format("\\x%02x", c));
            } else if (c <= 0xffff) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.append(String.format("\\U%08x", c));
            }
        }
        out.append(quote);
    }

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

    /** str.isprintable() for one character beyond ASCII: not a control, format, surrogate, private,
     * unassigned or separator character. */
    private static boolean isPrintable(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    /** {@code not s.strip()}: empty or only characters Python's str.isspace() accepts. */
    static boolean isBlank(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (!isPythonSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean isPythonSpace(char c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }
}
