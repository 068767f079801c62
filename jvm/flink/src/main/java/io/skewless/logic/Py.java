package io.skewless.logic;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * Python 3.11's semantics on the values an expression sees: Long or BigInteger (int; BigInteger
 * only outside the long range), Boolean (an int in arithmetic and comparisons), Double, String,
 * null (None) and {@link Tuple}. Failures throw {@link PyError} with CPython's own message.
 */
final class Py {
    static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3, FLOORDIV = 4, MOD = 5;
    static final String[] ARITH_SYMBOLS = {"+", "-", "*", "/", "//", "%"};
    static final int EQ = 0, NE = 1, LT = 2, LE = 3, GT = 4, GE = 5, IN = 6, NOT_IN = 7, IS = 8, IS_NOT = 9;
    static final String[] COMPARE_SYMBOLS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"};

    private static final long EXACT_DOUBLE = 1L << 53; // longs up to this magnitude convert exactly

    private Py() {}

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (v instanceof Long || v instanceof BigInteger) {
            return "int";
        }
        if (v instanceof Double) {
            return "float";
        }
        if (v instanceof String) {
            return "str";
        }
        if (v instanceof Tuple) {
            return "tuple";
        }
        throw new IllegalArgumentException("not a row-logic value: " + v.getClass().getName());
    }

    static boolean truthy(Object v) {
        if (v == null) {
            return false;
        }
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        if (v instanceof Long) {
            return (Long) v != 0;
        }
        if (v instanceof Double) {
            return (Double) v != 0.0; // NaN is true, as in Python
        }
        if (v instanceof String) {
            return !((String) v).isEmpty();
        }
        if (v instanceof BigInteger) {
            return ((BigInteger) v).signum() != 0;
        }
        return ((Tuple) v).items.length != 0;
    }

    static boolean isInt(Object v) {
        return v instanceof Long || v instanceof Boolean || v instanceof BigInteger;
    }

    static boolean isNumber(Object v) {
        return v instanceof Double || isInt(v);
    }

    /** Long or Boolean: an int that fits a long. */
    private static boolean small(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static long asLong(Object v) {
        return v instanceof Boolean ? ((Boolean) v ? 1L : 0L) : (Long) v;
    }

    static BigInteger big(Object v) {
        return v instanceof BigInteger ? (BigInteger) v : BigInteger.valueOf(asLong(v));
    }

    /** An int result: Long when it fits, else BigInteger. */
    static Object intValue(BigInteger b) {
        return b.bitLength() < 64 ? (Object) b.longValue() : b;
    }

    /** int(x) of an int: a bool becomes 0 / 1. */
    static Object asInt(Object v) {
        return v instanceof Boolean ? (Object) asLong(v) : v;
    }

    /** float(x) of a number: ints convert correctly rounded, or fail as CPython does. */
    static double toDouble(Object v) {
        if (v instanceof Double) {
            return (Double) v;
        }
        if (small(v)) {
            return (double) asLong(v);
        }
        double d = ((BigInteger) v).doubleValue(); // correctly rounded (half even)
        if (Double.isInfinite(d)) {
            throw new PyError("int too large to convert to float");
        }
        return d;
    }

    /** The int a float's integral value denotes (int(), round()). */
    static Object integral(double d) {
        if (Double.isNaN(d)) {
            throw new PyError("cannot convert float NaN to integer");
        }
        if (Double.isInfinite(d)) {
            throw new PyError("cannot convert float infinity to integer");
        }
        if (Math.abs(d) < 0x1p63) {
            return (long) d;
        }
        return intValue(new BigDecimal(d).toBigInteger());
    }

    // -----------------------------------------------------------------------------------------
    // Arithmetic

    static Object arith(int op, Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            if (a instanceof Double || b instanceof Double) {
                return floatArith(op, toDouble(a), toDouble(b));
            }
            if (small(a) && small(b)) {
                return longArith(op, asLong(a), asLong(b));
            }
            return bigArith(op, big(a), big(b));
        }
        if (op == ADD && a instanceof String && b instanceof String) {
            return (String) a + b;
        }
        String symbol = ARITH_SYMBOLS[op];
        throw new PyError("'" + symbol + "' needs numbers, got " + typeName(a) + " " + symbol + " " + typeName(b));
    }

    private static Double floatArith(int op, double x, double y) {
        switch (op) {
            case ADD: return x + y;
            case SUB: return x - y;
            case MUL: return x * y;
            case DIV:
                if (y == 0.0) {
                    throw new PyError("float division by zero");
                }
                return x / y;
            case FLOORDIV:
                if (y == 0.0) {
                    throw new PyError("float floor division by zero");
                }
                return floatFloorDiv(x, y);
            default:
                if (y == 0.0) {
                    throw new PyError("float modulo");
                }
                return floatMod(x, y);
        }
    }

    /** CPython's float_rem: fmod (Java's %), then the sign of the divisor. */
    private static double floatMod(double x, double y) {
        double mod = x % y;
        if (mod != 0.0) { // NaN included, as C's `if (mod)`
            if ((y < 0) != (mod < 0)) {
                mod += y;
            }
        } else {
            mod = Math.copySign(0.0, y);
        }
        return mod;
    }

    /** CPython's _float_div_mod, floor-division part, step for step (signed zeros, snapping). */
    private static double floatFloorDiv(double x, double y) {
        double mod = x % y;
        double div = (x - mod) / y;
        if (mod != 0.0 && (y < 0) != (mod < 0)) {
            div -= 1.0;
        }
        if (div != 0.0) {
            double floor = Math.floor(div);
            if (div - floor > 0.5) {
                floor += 1.0;
            }
            return floor;
        }
        return Math.copySign(0.0, x / y);
    }

    private static Object longArith(int op, long a, long b) {
        try {
            switch (op) {
                case ADD: return Math.addExact(a, b);
                case SUB: return Math.subtractExact(a, b);
                case MUL: return Math.multiplyExact(a, b);
                case DIV: return trueDivide(a, b);
                case FLOORDIV:
                    if (b == 0) {
                        throw new PyError("integer division or modulo by zero");
                    }
                    if (a == Long.MIN_VALUE && b == -1) {
                        return bigArith(op, big(a), big(b));
                    }
                    return Math.floorDiv(a, b);
                default:
                    if (b == 0) {
                        throw new PyError("integer modulo by zero");
                    }
                    return Math.floorMod(a, b);
            }
        } catch (ArithmeticException overflow) {
            return bigArith(op, BigInteger.valueOf(a), BigInteger.valueOf(b));
        }
    }

    private static Object bigArith(int op, BigInteger a, BigInteger b) {
        switch (op) {
            case ADD: return intValue(a.add(b));
            case SUB: return intValue(a.subtract(b));
            case MUL: return intValue(a.multiply(b));
            case DIV: return trueDivide(a, b);
            default:
                if (b.signum() == 0) {
                    throw new PyError(op == FLOORDIV ? "integer division or modulo by zero" : "integer modulo by zero");
                }
                BigInteger[] qr = a.divideAndRemainder(b);
                if (qr[1].signum() != 0 && qr[1].signum() != b.signum()) { // floor, not truncation
                    qr[0] = qr[0].subtract(BigInteger.ONE);
                    qr[1] = qr[1].add(b);
                }
                return intValue(op == FLOORDIV ? qr[0] : qr[1]);
        }
    }

    private static Double trueDivide(long a, long b) {
        if (b == 0) {
            throw new PyError("division by zero");
        }
        if (Math.abs(a) <= EXACT_DOUBLE && Math.abs(b) <= EXACT_DOUBLE && a != Long.MIN_VALUE && b != Long.MIN_VALUE) {
            // exact operands: IEEE division is correctly rounded; zero takes the quotient's sign as CPython
            double q = (double) Math.abs(a) / (double) Math.abs(b);
            return (a < 0) != (b < 0) ? -q : q;
        }
        return trueDivide(BigInteger.valueOf(a), BigInteger.valueOf(b));
    }

    /** int / int, correctly rounded as CPython's long_true_divide. */
    private static Double trueDivide(BigInteger a, BigInteger b) {
        if (b.signum() == 0) {
            throw new PyError("division by zero");
        }
        boolean negate = (a.signum() < 0) != (b.signum() < 0);
        double q = a.signum() == 0 ? 0.0 : ratio(a.abs(), b.abs());
        if (Double.isInfinite(q)) {
            throw new PyError("integer division result too large for a float");
        }
        return negate ? -q : q;
    }

    /** p / q (both positive) rounded half-even to a double, subnormals included; Infinity on overflow. */
    static double ratio(BigInteger p, BigInteger q) {
        // scale so the integer quotient carries 55-56 bits (2 or 3 beyond the mantissa), but never
        // finer than 2 bits below the smallest subnormal
        int shift = Math.max(p.bitLength() - q.bitLength() - 55, -1076);
        BigInteger n = shift < 0 ? p.shiftLeft(-shift) : p;
        BigInteger d = shift > 0 ? q.shiftLeft(shift) : q;
        BigInteger[] qr = n.divideAndRemainder(d);
        BigInteger quotient = qr[0];
        int ulp = Math.max(quotient.bitLength() - 1 + shift - 52, -1074);
        int drop = ulp - shift; // >= 2
        long mantissa = quotient.shiftRight(drop).longValue();
        boolean half = quotient.testBit(drop - 1);
        boolean below = qr[1].signum() != 0
                || (quotient.signum() != 0 && quotient.getLowestSetBit() < drop - 1);
        if (half && (below || (mantissa & 1) == 1)) {
            mantissa++;
        }
        return Math.scalb((double) mantissa, ulp); // exact: mantissa <= 2^53
    }

    static Object negate(Object a) {
        if (a instanceof Double) {
            return -(Double) a;
        }
        if (a instanceof BigInteger) {
            return intValue(((BigInteger) a).negate());
        }
        if (isInt(a)) {
            long v = asLong(a);
            return v == Long.MIN_VALUE ? (Object) BigInteger.valueOf(v).negate() : (Object) (-v);
        }
        throw new PyError("unary '-' needs a number, got " + typeName(a));
    }

    static Object plus(Object a) {
        if (!isNumber(a)) {
            throw new PyError("unary '+' needs a number, got " + typeName(a));
        }
        return asInt(a); // +x is x itself for int and float (identity kept, as CPython)
    }

    // -----------------------------------------------------------------------------------------
    // Comparisons

    static boolean compare(int op, Object a, Object b) {
        switch (op) {
            case EQ: return eq(a, b);
            case NE: return !eq(a, b);
            case IN: return contains(b, a);
            case NOT_IN: return !contains(b, a);
            case IS: return a == b; // the parser allows only `is None`
            case IS_NOT: return a != b;
            default: return order(op, a, b);
        }
    }

    /** operator.eq: never fails; numbers compare exactly across int and float. */
    static boolean eq(Object a, Object b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (isNumber(a) && isNumber(b)) {
            Integer c = numCompare(a, b);
            return c != null && c == 0;
        }
        if (a instanceof String && b instanceof String) {
            return a.equals(b);
        }
        if (a instanceof Tuple && b instanceof Tuple) {
            Object[] x = ((Tuple) a).items;
            Object[] y = ((Tuple) b).items;
            if (x.length != y.length) {
                return false;
            }
            for (int i = 0; i < x.length; i++) {
                if (!sameOrEq(x[i], y[i])) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    /** PyObject_RichCompareBool(.., Py_EQ): identity first (so a NaN object equals itself). */
    static boolean sameOrEq(Object a, Object b) {
        return a == b || eq(a, b);
    }

    private static boolean contains(Object container, Object item) {
        if (container instanceof String) {
            if (!(item instanceof String)) {
                throw new PyError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return ((String) container).contains((String) item);
        }
        if (container instanceof Tuple) {
            for (Object e : ((Tuple) container).items) {
                if (sameOrEq(e, item)) {
                    return true;
                }
            }
            return false;
        }
        throw new PyError("argument of type '" + typeName(container) + "' is not iterable");
    }

    /** < <= > >=, with CPython's TypeError for unorderable types. */
    static boolean order(int op, Object a, Object b) {
        int c;
        if (isNumber(a) && isNumber(b)) {
            Integer r = numCompare(a, b);
            if (r == null) {
                return false; // NaN
            }
            c = r;
        } else if (a instanceof String && b instanceof String) {
            c = compareCodePoints((String) a, (String) b);
        } else if (a instanceof Tuple && b instanceof Tuple) {
            Object[] x = ((Tuple) a).items;
            Object[] y = ((Tuple) b).items;
            int i = 0;
            while (i < x.length && i < y.length && sameOrEq(x[i], y[i])) {
                i++;
            }
            if (i < x.length && i < y.length) {
                return order(op, x[i], y[i]);
            }
            c = Integer.compare(x.length, y.length);
        } else {
            throw new PyError("'" + COMPARE_SYMBOLS[op] + "' not supported between instances of '"
                    + typeName(a) + "' and '" + typeName(b) + "'");
        }
        switch (op) {
            case LT: return c < 0;
            case LE: return c <= 0;
            case GT: return c > 0;
            default: return c >= 0;
        }
    }

    /** Python orders str by code point (UTF-16 order differs above the surrogates). */
    static int compareCodePoints(String a, String b) {
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

    /** Exact comparison of two numbers, as CPython (2**53 + 1 > 2.0**53); null when a NaN is involved. */
    static Integer numCompare(Object a, Object b) {
        if (a instanceof Double && b instanceof Double) {
            double x = (Double) a;
            double y = (Double) b;
            if (Double.isNaN(x) || Double.isNaN(y)) {
                return null;
            }
            return x < y ? -1 : x > y ? 1 : 0;
        }
        if (a instanceof Double) {
            Integer c = intVsDouble(b, (Double) a);
            return c == null ? null : -c;
        }
        if (b instanceof Double) {
            return intVsDouble(a, (Double) b);
        }
        if (small(a) && small(b)) {
            return Long.compare(asLong(a), asLong(b));
        }
        return big(a).compareTo(big(b));
    }

    private static Integer intVsDouble(Object i, double d) {
        if (Double.isNaN(d)) {
            return null;
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? -1 : 1;
        }
        if (small(i) && Math.abs(asLong(i)) <= EXACT_DOUBLE && asLong(i) != Long.MIN_VALUE) {
            return Double.compare((double) asLong(i), d + 0.0); // + 0.0: -0.0 equals 0
        }
        return new BigDecimal(big(i)).compareTo(new BigDecimal(d));
    }
}
