package io.skewless.logic;

import java.util.List;
import java.util.Map;

/**
 * Python's {@code str()} and {@code repr()} of event values, for the reasons the decode and key
 * checks put in dead letters: they must read exactly as the Python stages' (parity-tested in
 * tests/flink/test_decode_parity.py), hence Python 3.11's Unicode 14 printability and spaces.
 * The row logic does not use this class: its reasons quote no values (docs/expressions.md).
 *
 * <p>Values: null, Boolean, Long / Integer / BigInteger, Double, String, byte[], and the List and
 * Map (string keys) an Avro record field can decode to.
 */
public final class PyValues {
    private PyValues() {}

    /** Code points str.isspace() accepts beyond ASCII; int() and float() read them as ' '. */
    private static final int[] UNICODE_SPACES = {
        0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
        0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    };

    /** Ranges (inclusive pairs) assigned in Unicode 14: printable in Python 3.11, unassigned in Java 17. */
    private static final int[] PRINTABLE_SINCE_14 = {
        0x61D, 0x61D, 0x870, 0x88E, 0x898, 0x89F, 0x8B5, 0x8B5, 0x8C8, 0x8D2, 0xC3C, 0xC3C, 0xC5D, 0xC5D,
        0xCDD, 0xCDD, 0x170D, 0x170D, 0x1715, 0x1715, 0x171F, 0x171F, 0x180F, 0x180F, 0x1AC1, 0x1ACE,
        0x1B4C, 0x1B4C, 0x1B7D, 0x1B7E, 0x1DFA, 0x1DFA, 0x20C0, 0x20C0, 0x2C2F, 0x2C2F, 0x2C5F, 0x2C5F,
        0x2E53, 0x2E5D, 0x9FFD, 0x9FFF, 0xA7C0, 0xA7C1, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3, 0xA7D5, 0xA7D9,
        0xA7F2, 0xA7F4, 0xFBC2, 0xFBC2, 0xFD40, 0xFD4F, 0xFDCF, 0xFDCF, 0xFDFE, 0xFDFF, 0x10570, 0x1057A,
        0x1057C, 0x1058A, 0x1058C, 0x10592, 0x10594, 0x10595, 0x10597, 0x105A1, 0x105A3, 0x105B1,
        0x105B3, 0x105B9, 0x105BB, 0x105BC, 0x10780, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA,
        0x10F70, 0x10F89, 0x11070, 0x11075, 0x110C2, 0x110C2, 0x116B9, 0x116B9, 0x11740, 0x11746,
        0x11AB0, 0x11ABF, 0x12F90, 0x12FF2, 0x16A70, 0x16ABE, 0x16AC0, 0x16AC9, 0x1AFF0, 0x1AFF3,
        0x1AFF5, 0x1AFFB, 0x1AFFD, 0x1AFFE, 0x1B11F, 0x1B122, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46,
        0x1CF50, 0x1CFC3, 0x1D1E9, 0x1D1EA, 0x1DF00, 0x1DF1E, 0x1E290, 0x1E2AE, 0x1E7E0, 0x1E7E6,
        0x1E7E8, 0x1E7EB, 0x1E7ED, 0x1E7EE, 0x1E7F0, 0x1E7FE, 0x1F6DD, 0x1F6DF, 0x1F7F0, 0x1F7F0,
        0x1F979, 0x1F979, 0x1F9CC, 0x1F9CC, 0x1FA7B, 0x1FA7C, 0x1FAA9, 0x1FAAC, 0x1FAB7, 0x1FABA,
        0x1FAC3, 0x1FAC5, 0x1FAD7, 0x1FAD9, 0x1FAE0, 0x1FAE7, 0x1FAF0, 0x1FAF6, 0x2A6DE, 0x2A6DF,
        0x2B735, 0x2B738,
    };

    /** str.isspace() of one code point (what str.strip() removes). */
    private static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || unicodeSpace(cp);
    }

    private static boolean unicodeSpace(int cp) {
        for (int s : UNICODE_SPACES) {
            if (s == cp) {
                return true;
            }
        }
        return false;
    }

    /** Py_UNICODE_ISPRINTABLE: not Cc Cf Cs Co Cn Zl Zp, nor Zs other than ' '. */
    private static boolean printable(int cp) {
        switch (Character.getType(cp)) {
            case Character.CONTROL:
            case Character.FORMAT:
            case Character.SURROGATE:
            case Character.PRIVATE_USE:
            case Character.LINE_SEPARATOR:
            case Character.PARAGRAPH_SEPARATOR:
                return false;
            case Character.SPACE_SEPARATOR:
                return cp == ' ';
            case Character.UNASSIGNED:
                for (int i = 0; i < PRINTABLE_SINCE_14.length; i += 2) {
                    if (cp >= PRINTABLE_SINCE_14[i] && cp <= PRINTABLE_SINCE_14[i + 1]) {
                        return true;
                    }
                }
                return false;
            default:
                return true;
        }
    }

    /** Python's repr(str). */
    private static String reprString(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(quote);
        s.codePoints().forEach(cp -> {
            if (cp == quote || cp == '\\') {
                b.append('\\').appendCodePoint(cp);
            } else if (cp == '\t') {
                b.append("\\t");
            } else if (cp == '\n') {
                b.append("\\n");
            } else if (cp == '\r') {
                b.append("\\r");
            } else if (cp < ' ' || cp == 0x7F) {
                b.append(String.format("\\x%02x", cp));
            } else if (cp < 0x7F || printable(cp)) {
                b.appendCodePoint(cp);
            } else if (cp <= 0xFF) {
                b.append(String.format("\\x%02x", cp));
            } else if (cp <= 0xFFFF) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.append(String.format("\\U%08x", cp));
            }
        });
        return b.append(quote).toString();
    }


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
        return s.codePoints().allMatch(PyValues::isSpace);
    }

    private static void append(StringBuilder out, Object value) {
        if (value instanceof String s) {
            out.append(reprString(s));
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
        } else if (value == null) {
            out.append("None");
        } else if (value instanceof Boolean b) {
            out.append(b ? "True" : "False");
        } else if (value instanceof Double d) {
            out.append(Values.doubleText(d)); // repr(float) is str(x) of the language
        } else {
            out.append(value); // Long, BigInteger
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
