package io.skewless.logic;

import java.util.Set;

/** Arithmetic, comparisons and conditions on values (docs/expressions.md, "Operators"). */
final class Operators {
    private static final Set<String> INFIX = Set.of("+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in");
    static final Set<String> ARITHMETIC = Set.of("+", "-", "*", "/", "//", "%");
    static final Set<String> COMPARISONS = Set.of("==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not");

    private Operators() {}

    static boolean isInfix(String op) {
        return INFIX.contains(op);
    }

    static Object arith(String op, Object a, Object b) {
        if (op.equals("+") && a instanceof String x && b instanceof String y) {
            return x + y;
        }
        if (!Values.isNumber(a) || !Values.isNumber(b)) {
            throw Failure.refuse(op, a, b);
        }
        if ((op.equals("/") || op.equals("//") || op.equals("%")) && Values.toDouble(b) == 0) {
            throw new Failure("division_by_zero", op, a, b);
        }
        if (op.equals("/")) {
            return Values.toDouble(a) / Values.toDouble(b);
        }
        if (a instanceof Long x && b instanceof Long y) {
            return longArith(op, x, y);
        }
        double x = Values.toDouble(a);
        double y = Values.toDouble(b);
        switch (op) {
            case "+": return x + y;
            case "-": return x - y;
            case "*": return x * y;
            case "//": {
                double q = x / y;
                return Double.isFinite(q) && q != 0 ? Math.floor(q) : q;
            }
            default: {
                double r = x % y; // C's fmod
                return r != 0 && (r < 0) != (y < 0) ? r + y : r;
            }
        }
    }

    private static long longArith(String op, long x, long y) {
        try {
            switch (op) {
                case "+": return Math.addExact(x, y);
                case "-": return Math.subtractExact(x, y);
                case "*": return Math.multiplyExact(x, y);
                case "//":
                    if (x == Long.MIN_VALUE && y == -1) {
                        throw new ArithmeticException("overflow");
                    }
                    return Math.floorDiv(x, y);
                default: return Math.floorMod(x, y);
            }
        } catch (ArithmeticException overflow) {
            throw new Failure("integer_overflow", op, x, y);
        }
    }

    static Object negate(Object v) {
        if (v instanceof Long x) {
            if (x == Long.MIN_VALUE) {
                throw new Failure("integer_overflow", "-", v);
            }
            return -x;
        }
        if (v instanceof Double x) {
            return -x;
        }
        throw Failure.refuse("-", v);
    }

    static Object plus(Object v) {
        if (!Values.isNumber(v)) {
            throw Failure.refuse("+", v);
        }
        return v;
    }

    /** A condition (if, and, or, not, the filter) takes booleans only. */
    static boolean truth(String op, Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        throw Failure.refuse(op, v);
    }

    static boolean compare(String op, Object a, Object b) {
        switch (op) {
            case "==": return equal(a, b);
            case "!=": return !equal(a, b);
            case "is": return a == null;
            case "is not": return a != null;
            case "in": return contains(op, b, a);
            case "not in": return !contains(op, b, a);
            default: {
                int c = order(op, a, b);
                switch (op) {
                    case "<": return c == -1;
                    case "<=": return c == -1 || c == 0;
                    case ">": return c == 1;
                    default: return c == 1 || c == 0;
                }
            }
        }
    }

    /** Values of different kinds are unequal; a long and a double compare as two doubles. */
    static boolean equal(Object a, Object b) {
        if (Values.isNumber(a) && Values.isNumber(b)) {
            if (a instanceof Long x && b instanceof Long y) {
                return x.longValue() == y.longValue();
            }
            return Values.toDouble(a) == Values.toDouble(b);
        }
        return a == null ? b == null : a.equals(b);
    }

    private static boolean contains(String op, Object container, Object item) {
        if (container instanceof Object[] tuple) {
            for (Object member : tuple) {
                if (equal(item, member)) {
                    return true;
                }
            }
            return false;
        }
        if (container instanceof String s && item instanceof String part) {
            return s.contains(part);
        }
        throw Failure.refuse(op, item, container);
    }

    /** -1, 0 or 1; 2 when a NaN makes every ordering false. Numbers with numbers, strings by code point. */
    static int order(String op, Object a, Object b) {
        if (a instanceof Long x && b instanceof Long y) {
            return Long.compare(x, y);
        }
        if (Values.isNumber(a) && Values.isNumber(b)) {
            double x = Values.toDouble(a);
            double y = Values.toDouble(b);
            return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
        }
        if (a instanceof String x && b instanceof String y) {
            return Integer.signum(compareCodePoints(x, y));
        }
        throw Failure.refuse(op, a, b);
    }

    /** String.compareTo orders UTF-16 units, which puts U+E000..U+FFFF after astral code points. */
    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Boolean.compare(i < a.length(), j < b.length());
    }
}
