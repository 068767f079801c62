package io.skewless.logic;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Locale;

/**
 * Python 3.11's text rules: repr of str and float, int() / float() of a str, str.lower / upper.
 *
 * <p>Python 3.11 uses Unicode 14.0, Java 17 Unicode 13.0. The code points whose printability,
 * decimal value or case mapping changed between the two (found by comparing every code point of
 * both runtimes) are patched in here, so reprs and mappings match Python's.
 */
final class Text {
    static final int MAX_STR_DIGITS = 4300; // CPython's int <-> str conversion limit

    private Text() {}

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

    /** Case pairs (upper, lower) new in Unicode 14, besides Vithkuqi (see {@link #lower14}). */
    private static final int[] CASE_PAIRS_14 = {0x2C2F, 0x2C5F, 0xA7C0, 0xA7C1, 0xA7D0, 0xA7D1, 0xA7D6, 0xA7D7, 0xA7D8, 0xA7D9};

    /** str.isspace() of one code point (what str.strip() removes). */
    static boolean isSpace(int cp) {
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

    /** Py_UNICODE_TODECIMAL: the digit value of a decimal digit (Nd) of any script, else -1. */
    private static int decimal(int cp) {
        if (cp >= 0x16AC0 && cp <= 0x16AC9) { // Tangsa digits, Unicode 14
            return cp - 0x16AC0;
        }
        return Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER ? Character.digit(cp, 10) : -1;
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
    static String repr(String s) {
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

    /** str(int), with CPython's limit on digits. */
    static String intText(Object v) {
        String text = v.toString();
        if (text.length() - (text.startsWith("-") ? 1 : 0) > MAX_STR_DIGITS) {
            throw new PyError("Exceeds the limit (" + MAX_STR_DIGITS
                    + " digits) for integer string conversion; use sys.set_int_max_str_digits() to increase the limit");
        }
        return text;
    }

    /** Python's repr(float): the shortest digits that read back to d, laid out as CPython does. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        String sign = Math.copySign(1.0, d) < 0 ? "-" : "";
        if (d == 0.0) {
            return sign + "0.0";
        }
        double abs = Math.abs(d);
        BigDecimal digits = shortest(abs).stripTrailingZeros();
        String ds = digits.unscaledValue().toString();
        int point = ds.length() - digits.scale(); // value = 0.<ds> * 10^point
        StringBuilder b = new StringBuilder(sign);
        if (point <= -4 || point > 16) {
            b.append(ds.charAt(0));
            if (ds.length() > 1) {
                b.append('.').append(ds, 1, ds.length());
            }
            int exp = point - 1;
            b.append(exp < 0 ? "e-" : "e+").append(Math.abs(exp) < 10 ? "0" : "").append(Math.abs(exp));
        } else if (point <= 0) {
            b.append("0.").append("0".repeat(-point)).append(ds);
        } else if (point >= ds.length()) {
            b.append(ds).append("0".repeat(point - ds.length())).append(".0");
        } else {
            b.append(ds, 0, point).append('.').append(ds, point, ds.length());
        }
        return b.toString();
    }

    /** The fewest significant digits that round-trip (dtoa mode 0); the nearer one on a choice. */
    private static BigDecimal shortest(double abs) {
        BigDecimal exact = new BigDecimal(abs);
        for (int p = 1; p < 17; p++) {
            BigDecimal down = exact.round(new MathContext(p, RoundingMode.DOWN));
            BigDecimal up = exact.round(new MathContext(p, RoundingMode.UP));
            boolean downOk = down.doubleValue() == abs;
            boolean upOk = up.doubleValue() == abs;
            if (downOk && upOk) {
                int c = exact.subtract(down).compareTo(up.subtract(exact));
                return c < 0 ? down : c > 0 ? up : exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            }
            if (downOk || upOk) {
                return downOk ? down : up;
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }

    /** float.__round__(x, ndigits) for finite x and -308 <= ndigits <= 323: decimal half-even of the exact value. */
    static double roundDigits(double x, int ndigits) {
        double r = new BigDecimal(x).setScale(ndigits, RoundingMode.HALF_EVEN).doubleValue();
        if (Double.isInfinite(r)) {
            throw new PyError("rounded value too large to represent");
        }
        return r == 0.0 ? Math.copySign(0.0, x) : r;
    }

    // -----------------------------------------------------------------------------------------
    // int() and float() of a str

    /**
     * CPython's _PyUnicode_TransformDecimalAndSpaceToASCII: non-ASCII spaces become ' ', decimal
     * digits of any script their ASCII digit; anything else non-ASCII ends the text with '?'.
     */
    private static String toAsciiDigits(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 128) {
                b.append((char) cp);
            } else if (unicodeSpace(cp)) {
                b.append(' ');
            } else if (decimal(cp) >= 0) {
                b.append((char) ('0' + decimal(cp)));
            } else {
                return b.append('?').toString();
            }
        }
        return b.toString();
    }

    private static boolean asciiSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0B || c == 0x0C;
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    /** int(s): CPython's base-10 reading (spaces around, one sign, single underscores between digits). */
    static Object parseInt(String original) {
        String s = toAsciiDigits(original);
        int i = 0;
        int n = s.length();
        while (i < n && asciiSpace(s.charAt(i))) {
            i++;
        }
        boolean negative = false;
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            negative = s.charAt(i) == '-';
            i++;
        }
        if (i < n && s.charAt(i) == '_') {
            throw invalidInt(original);
        }
        StringBuilder digits = new StringBuilder();
        char prev = 0;
        while (i < n && (digit(s.charAt(i)) || s.charAt(i) == '_')) {
            char c = s.charAt(i++);
            if (c == '_' && prev == '_') {
                throw invalidInt(original);
            }
            if (c != '_') {
                digits.append(c);
            }
            prev = c;
        }
        if (prev == '_') {
            throw invalidInt(original);
        }
        if (digits.length() > MAX_STR_DIGITS) {
            throw new PyError("Exceeds the limit (" + MAX_STR_DIGITS + " digits) for integer string conversion: value has "
                    + digits.length() + " digits; use sys.set_int_max_str_digits() to increase the limit");
        }
        while (i < n && asciiSpace(s.charAt(i))) {
            i++;
        }
        if (digits.length() == 0 || i != n) {
            throw invalidInt(original);
        }
        if (digits.length() <= 18) {
            long v = Long.parseLong(digits.toString());
            return negative ? -v : v;
        }
        BigInteger v = new BigInteger(digits.toString());
        return Py.intValue(negative ? v.negate() : v);
    }

    private static PyError invalidInt(String original) {
        String repr = repr(original); // CPython formats it with %.200R: at most 200 code points
        if (repr.codePointCount(0, repr.length()) > 200) {
            repr = repr.substring(0, repr.offsetByCodePoints(0, 200));
        }
        return new PyError("invalid literal for int() with base 10: " + repr);
    }

    /** float(s): CPython's reading (underscores between digits, inf / infinity / nan in any case). */
    static double parseFloat(String original) {
        String s = toAsciiDigits(original);
        if (s.indexOf('_') >= 0) {
            StringBuilder b = new StringBuilder(s.length());
            char prev = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '_' ? !digit(prev) : prev == '_' && !digit(c)) {
                    throw invalidFloat(original);
                }
                if (c != '_') {
                    b.append(c);
                }
                prev = c;
            }
            if (prev == '_') {
                throw invalidFloat(original);
            }
            s = b.toString();
        }
        int start = 0;
        int end = s.length();
        while (start < end && asciiSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && asciiSpace(s.charAt(end - 1))) {
            end--;
        }
        String t = s.substring(start, end);
        int i = t.startsWith("+") || t.startsWith("-") ? 1 : 0;
        boolean negative = t.startsWith("-");
        String word = t.substring(i).toLowerCase(Locale.ROOT);
        if (word.equals("inf") || word.equals("infinity")) {
            return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
        }
        if (word.equals("nan")) {
            return Double.NaN;
        }
        int mantissaDigits = 0;
        int j = i;
        while (j < t.length() && digit(t.charAt(j))) {
            j++;
            mantissaDigits++;
        }
        if (j < t.length() && t.charAt(j) == '.') {
            j++;
            while (j < t.length() && digit(t.charAt(j))) {
                j++;
                mantissaDigits++;
            }
        }
        if (mantissaDigits == 0) {
            throw invalidFloat(original);
        }
        if (j < t.length() && (t.charAt(j) == 'e' || t.charAt(j) == 'E')) {
            int k = j + 1;
            if (k < t.length() && (t.charAt(k) == '+' || t.charAt(k) == '-')) {
                k++;
            }
            int expStart = k;
            while (k < t.length() && digit(t.charAt(k))) {
                k++;
            }
            if (k > expStart) {
                j = k;
            }
        }
        if (j != t.length()) {
            throw invalidFloat(original);
        }
        return Double.parseDouble(t); // validated above: only Python's decimal syntax reaches here
    }

    private static PyError invalidFloat(String original) {
        return new PyError("could not convert string to float: " + repr(original));
    }

    // -----------------------------------------------------------------------------------------
    // lower() and upper()

    /** The Unicode 14 lowercase of a code point Java 17 does not know, else -1. */
    private static int lower14(int cp) {
        for (int i = 0; i < CASE_PAIRS_14.length; i += 2) {
            if (CASE_PAIRS_14[i] == cp) {
                return CASE_PAIRS_14[i + 1];
            }
        }
        boolean vithkuqi = cp >= 0x10570 && cp <= 0x10595 && cp != 0x1057B && cp != 0x1058B && cp != 0x10593;
        return vithkuqi ? cp + 0x27 : -1;
    }

    private static int upper14(int cp) {
        for (int i = 1; i < CASE_PAIRS_14.length; i += 2) {
            if (CASE_PAIRS_14[i] == cp) {
                return CASE_PAIRS_14[i - 1];
            }
        }
        boolean vithkuqi = cp >= 0x10597 && cp <= 0x105BC && cp != 0x105A2 && cp != 0x105B2 && cp != 0x105BA;
        return vithkuqi ? cp - 0x27 : -1;
    }

    /** Ranges (inclusive pairs) that became case-ignorable in Unicode 14 (marks, format). */
    private static final int[] IGNORABLE_SINCE_14 = {
        0x888, 0x888, 0x890, 0x891, 0x898, 0x89F, 0x8C9, 0x8D2, 0xC3C, 0xC3C, 0x180F, 0x180F, 0x1AC1, 0x1ACE,
        0x1DFA, 0x1DFA, 0xA7F2, 0xA7F4, 0xFBC2, 0xFBC2, 0x10780, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA,
        0x10F82, 0x10F85, 0x11070, 0x11070, 0x11073, 0x11074, 0x110C2, 0x110C2, 0x1AFF0, 0x1AFF3, 0x1AFF5, 0x1AFFB,
        0x1AFFD, 0x1AFFE, 0x1CF00, 0x1CF2D, 0x1CF30, 0x1CF46, 0x1E2AE, 0x1E2AE,
    };

    /** Ranges of letters that became cased in Unicode 14. */
    private static final int[] CASED_SINCE_14 = {
        0x2C2F, 0x2C2F, 0x2C5F, 0x2C5F, 0xA7C0, 0xA7C1, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3, 0xA7D5, 0xA7D9, 0x10570, 0x1057A,
        0x1057C, 0x1058A, 0x1058C, 0x10592, 0x10594, 0x10595, 0x10597, 0x105A1, 0x105A3, 0x105B1, 0x105B3, 0x105B9,
        0x105BB, 0x105BC, 0x1DF00, 0x1DF09, 0x1DF0B, 0x1DF1E,
    };

    /** Word_Break MidLetter, MidNumLet and Single_Quote: case-ignorable besides the categories. */
    private static final int[] WORD_BREAK_IGNORABLE = {
        0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A,
    };

    private static boolean inRanges(int[] ranges, int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    private static boolean caseIgnorable(int cp) {
        if (cp == 0x1734) { // a spacing mark (Mc) since Unicode 14
            return false;
        }
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.FORMAT:
            case Character.MODIFIER_LETTER:
            case Character.MODIFIER_SYMBOL:
                return true;
            default:
                for (int w : WORD_BREAK_IGNORABLE) {
                    if (w == cp) {
                        return true;
                    }
                }
                return inRanges(IGNORABLE_SINCE_14, cp);
        }
    }

    private static boolean cased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp) || inRanges(CASED_SINCE_14, cp);
    }

    /** CPython's handle_capital_sigma: is the Σ at {@code i} final (cased before, no cased after)? */
    private static boolean finalSigma(String s, int i) {
        int j = i;
        int before = -1;
        while (j > 0) {
            int c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!caseIgnorable(c)) {
                before = c;
                break;
            }
        }
        if (before < 0 || !cased(before)) {
            return false;
        }
        for (j = i + 1; j < s.length(); ) {
            int c = s.codePointAt(j);
            j += Character.charCount(c);
            if (!caseIgnorable(c)) {
                return !cased(c);
            }
        }
        return true;
    }

    /** str.lower: Java's full mappings (İ -> i̇) per code point, Unicode 14 pairs, Python's final sigma. */
    static String lower(String s) {
        boolean plain = true;
        for (int i = 0; i < s.length() && plain; ) {
            int cp = s.codePointAt(i);
            plain = cp != 0x3A3 && lower14(cp) < 0;
            i += Character.charCount(cp);
        }
        if (plain) {
            return s.toLowerCase(Locale.ROOT);
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (cp == 0x3A3) {
                b.append(finalSigma(s, i) ? '\u03C2' : '\u03C3');
            } else if (lower14(cp) >= 0) {
                b.appendCodePoint(lower14(cp));
            } else {
                b.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT)); // context-free in ROOT
            }
            i += Character.charCount(cp);
        }
        return b.toString();
    }

    /** str.upper: full mappings (ß -> SS), context-free, plus the Unicode 14 pairs. */
    static String upper(String s) {
        int from = 0;
        StringBuilder b = null;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (upper14(cp) >= 0) {
                if (b == null) {
                    b = new StringBuilder(s.length());
                }
                b.append(s.substring(from, i).toUpperCase(Locale.ROOT)).appendCodePoint(upper14(cp));
                from = next;
            }
            i = next;
        }
        return b == null ? s.toUpperCase(Locale.ROOT) : b.append(s.substring(from).toUpperCase(Locale.ROOT)).toString();
    }
}
