package io.skewless.logic;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** The functions of the language (docs/expressions.md, "Functions"); coalesce is Node.Call's, being lazy. */
final class Functions {
    /** Each function's fewest and most arguments (-1: any number). */
    private static final Map<String, int[]> ARITY = Map.ofEntries(
            Map.entry("abs", new int[] {1, 1}), Map.entry("round", new int[] {1, 2}),
            Map.entry("min", new int[] {2, -1}), Map.entry("max", new int[] {2, -1}),
            Map.entry("int", new int[] {1, 1}), Map.entry("float", new int[] {1, 1}), Map.entry("str", new int[] {1, 1}),
            Map.entry("len", new int[] {1, 1}), Map.entry("lower", new int[] {1, 1}), Map.entry("upper", new int[] {1, 1}),
            Map.entry("startswith", new int[] {2, 2}), Map.entry("endswith", new int[] {2, 2}),
            Map.entry("coalesce", new int[] {1, -1}));
    private static final int MAX_NDIGITS = 308;
    private static final double TWO_63 = 0x1p63;
    private static final Pattern INT_TEXT = Pattern.compile("[+-]?[0-9]+");
    private static final Pattern FLOAT_TEXT = Pattern.compile("[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    private Functions() {}

    /** The tree's call is well formed: a known function with a number of arguments it takes. */
    static String checked(String name, int count) {
        int[] arity = ARITY.get(name);
        if (arity == null || count < arity[0] || (arity[1] >= 0 && count > arity[1])) {
            throw new IllegalArgumentException("unknown function " + name + " of " + count + " arguments");
        }
        return name;
    }

    static Object call(String name, Object[] args) {
        switch (name) {
            case "abs": return abs(args[0]);
            case "round": return round(args);
            case "min": return extreme(name, args, -1);
            case "max": return extreme(name, args, 1);
            case "int": return toLong(args[0]);
            case "float": return toDouble(args[0]);
            case "str": return str(args[0]);
            default: return stringFunction(name, args);
        }
    }

    private static Object abs(Object x) {
        if (x instanceof Long v) {
            if (v == Long.MIN_VALUE) {
                throw new Failure("integer_overflow", "abs", x);
            }
            return Math.abs(v);
        }
        if (x instanceof Double v) {
            return Math.abs(v);
        }
        throw Failure.refuse("abs", x);
    }

    private static double finite(Object x, String op, Object... operands) {
        double d = (Double) x;
        if (!Double.isFinite(d)) {
            throw new Failure("not_finite", op, operands);
        }
        return d;
    }

    /** A whole double (or any double, truncated) as a long, if it is one. */
    private static long exactLong(double whole, String op, Object... operands) {
        if (whole >= TWO_63 || whole < -TWO_63) {
            throw new Failure("integer_overflow", op, operands);
        }
        return (long) whole;
    }

    /** round(x): half to even, a long. round(x, n): x's exact decimal value to n digits, half to even. */
    private static Object round(Object[] args) {
        Object x = args[0];
        if (!Values.isNumber(x) || (args.length == 2 && !(args[1] instanceof Long))) {
            throw Failure.refuse("round", args);
        }
        if (args.length == 1) {
            return x instanceof Long ? x : exactLong(Math.rint(finite(x, "round", args)), "round", args);
        }
        long n = (Long) args[1];
        if (n < -MAX_NDIGITS || n > MAX_NDIGITS) {
            throw new Failure("invalid_argument", "round", args);
        }
        if (x instanceof Long v) {
            if (n >= 0) {
                return v;
            }
            BigInteger rounded = new BigDecimal(v).setScale((int) n, RoundingMode.HALF_EVEN).toBigIntegerExact();
            if (rounded.bitLength() > 63) {
                throw new Failure("integer_overflow", "round", args);
            }
            return rounded.longValue();
        }
        double d = finite(x, "round", args);
        double rounded = new BigDecimal(d).setScale((int) n, RoundingMode.HALF_EVEN).doubleValue();
        return rounded == 0 ? Math.copySign(0.0, d) : rounded;
    }

    /** min / max: the first operand no later one beats; all numbers or all strings. */
    private static Object extreme(String name, Object[] args, int wins) {
        boolean numbers = true;
        boolean strings = true;
        for (Object a : args) {
            numbers &= Values.isNumber(a);
            strings &= a instanceof String;
        }
        if (!numbers && !strings) {
            throw Failure.refuse(name, args);
        }
        Object best = args[0];
        for (int i = 1; i < args.length; i++) {
            if (Operators.order(name, args[i], best) == wins) {
                best = args[i];
            }
        }
        return best;
    }

    private static Object toLong(Object x) {
        if (x instanceof String s) {
            if (!INT_TEXT.matcher(s).matches()) {
                throw new Failure("invalid_number", "int", x);
            }
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException tooLarge) {
                throw new Failure("integer_overflow", "int", x);
            }
        }
        if (x instanceof Long) {
            return x;
        }
        if (x instanceof Double) {
            return exactLong(finite(x, "int", x), "int", x); // the cast truncates toward zero
        }
        throw Failure.refuse("int", x);
    }

    private static Object toDouble(Object x) {
        if (x instanceof String s) {
            if (!FLOAT_TEXT.matcher(s).matches()) {
                throw new Failure("invalid_number", "float", x);
            }
            return Double.parseDouble(s); // correctly rounded
        }
        if (Values.isNumber(x)) {
            return Values.toDouble(x);
        }
        throw Failure.refuse("float", x);
    }

    private static String str(Object x) {
        if (x instanceof String s) {
            return s;
        }
        if (x instanceof Long v) {
            return v.toString();
        }
        if (x instanceof Double v) {
            return Values.doubleText(v);
        }
        if (x instanceof Boolean b) {
            return b ? "True" : "False";
        }
        throw Failure.refuse("str", x);
    }

    private static Object stringFunction(String name, Object[] args) {
        for (Object a : args) {
            if (!(a instanceof String)) {
                throw Failure.refuse(name, args);
            }
        }
        String s = (String) args[0];
        switch (name) {
            case "len": return (long) s.codePointCount(0, s.length());
            case "lower": return s.toLowerCase(Locale.ROOT);
            case "upper": return s.toUpperCase(Locale.ROOT);
            case "startswith": return s.startsWith((String) args[1]);
            case "endswith": return s.endsWith((String) args[1]);
            default: throw new IllegalStateException("unknown function " + name); // fromJson checks names
        }
    }
}
