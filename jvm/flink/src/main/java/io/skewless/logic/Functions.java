package io.skewless.logic;

import java.math.BigInteger;

/** The whitelisted functions (skewless.expressions.FUNCTIONS), each as its Python builtin behaves. */
final class Functions {
    static final String[] NAMES = {"abs", "round", "min", "max", "int", "float", "str", "len", "lower", "upper", "coalesce"};
    static final int ABS = 0, ROUND = 1, MIN = 2, MAX = 3, INT = 4, FLOAT = 5, STR = 6, LEN = 7, LOWER = 8, UPPER = 9, COALESCE = 10;

    // float.__round__ short cuts: beyond these ndigits x rounds to itself or to a signed zero
    private static final int NDIGITS_MAX = 323;
    private static final int NDIGITS_MIN = -308;

    private Functions() {}

    static int byName(String name) {
        for (int i = 0; i < NAMES.length; i++) {
            if (NAMES[i].equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown function " + name);
    }

    static Object call(int fn, Object[] args) {
        switch (fn) {
            case ABS: return abs(args[0]);
            case ROUND: return args.length == 1 || args[1] == null ? round(args[0]) : round(args[0], args[1]);
            case MIN: return extreme(args, Py.LT);
            case MAX: return extreme(args, Py.GT);
            case INT: return toInt(args[0]);
            case FLOAT: return toFloat(args[0]);
            case STR: return str(args[0]);
            case LEN:
                if (!(args[0] instanceof String)) {
                    throw new PyError("object of type '" + Py.typeName(args[0]) + "' has no len()");
                }
                String s = (String) args[0];
                return (long) s.codePointCount(0, s.length());
            case LOWER:
            case UPPER:
                if (!(args[0] instanceof String)) {
                    throw new PyError(NAMES[fn] + "() needs a string, got " + Py.typeName(args[0]));
                }
                return fn == LOWER ? Text.lower((String) args[0]) : Text.upper((String) args[0]);
            default:
                for (Object a : args) {
                    if (a != null) {
                        return a;
                    }
                }
                return null;
        }
    }

    private static Object abs(Object x) {
        if (x instanceof Double) {
            return Math.abs((Double) x);
        }
        if (!Py.isInt(x)) {
            throw new PyError("bad operand type for abs(): '" + Py.typeName(x) + "'");
        }
        return Py.numCompare(x, 0L) < 0 ? Py.negate(x) : Py.asInt(x);
    }

    private static void needsRound(Object x) {
        if (!Py.isNumber(x)) {
            throw new PyError("type " + Py.typeName(x) + " doesn't define __round__ method");
        }
    }

    private static Object round(Object x) {
        needsRound(x);
        return x instanceof Double ? Py.integral(Math.rint((Double) x)) : Py.asInt(x); // rint: half even
    }

    private static Object round(Object x, Object ndigits) {
        needsRound(x);
        if (!Py.isInt(ndigits)) {
            throw new PyError("'" + Py.typeName(ndigits) + "' object cannot be interpreted as an integer");
        }
        if (x instanceof Double) {
            double d = (Double) x;
            // PyNumber_AsSsize_t clips ndigits; checked before the value, as CPython does
            int n = Py.numCompare(ndigits, (long) NDIGITS_MAX) > 0 ? NDIGITS_MAX + 1
                    : Py.numCompare(ndigits, (long) NDIGITS_MIN) < 0 ? NDIGITS_MIN - 1 : (int) Py.asLong(Py.asInt(ndigits));
            if (!Double.isFinite(d) || n > NDIGITS_MAX) {
                return Double.valueOf(d); // a new float object, as CPython's
            }
            if (n < NDIGITS_MIN) {
                return 0.0 * d;
            }
            return Text.roundDigits(d, n);
        }
        if (Py.numCompare(ndigits, 0L) >= 0) {
            return Py.asInt(x);
        }
        BigInteger value = Py.big(x);
        BigInteger places = Py.big(ndigits).negate();
        // |x| < 10**places / 2 rounds to 0 (CPython would build 10**places, however large)
        if (places.compareTo(BigInteger.valueOf(value.abs().toString().length() + 1)) > 0) {
            return 0L;
        }
        BigInteger unit = BigInteger.TEN.pow(places.intValueExact());
        BigInteger[] qr = value.divideAndRemainder(unit);
        if (qr[1].signum() < 0) { // floor division, as divmod
            qr[0] = qr[0].subtract(BigInteger.ONE);
            qr[1] = qr[1].add(unit);
        }
        int half = qr[1].shiftLeft(1).compareTo(unit);
        if (half > 0 || (half == 0 && qr[0].testBit(0))) {
            qr[1] = qr[1].subtract(unit);
        }
        return Py.intValue(value.subtract(qr[1]));
    }

    /** min / max: keep the first extreme; compare each new item against it (item < best), as CPython. */
    private static Object extreme(Object[] args, int op) {
        Object best = args[0];
        for (int i = 1; i < args.length; i++) {
            if (Py.order(op, args[i], best)) {
                best = args[i];
            }
        }
        return best;
    }

    private static Object toInt(Object x) {
        if (Py.isInt(x)) {
            return Py.asInt(x);
        }
        if (x instanceof Double) {
            return Py.integral((Double) x);
        }
        if (x instanceof String) {
            return Text.parseInt((String) x);
        }
        throw new PyError("int() argument must be a string, a bytes-like object or a real number, not '"
                + Py.typeName(x) + "'");
    }

    private static Object toFloat(Object x) {
        if (x instanceof Double) {
            return x; // float(x) is x itself
        }
        if (Py.isInt(x)) {
            return Py.toDouble(x);
        }
        if (x instanceof String) {
            return Text.parseFloat((String) x);
        }
        throw new PyError("float() argument must be a string or a real number, not '" + Py.typeName(x) + "'");
    }

    static String str(Object x) {
        if (x == null) {
            return "None";
        }
        if (x instanceof String) {
            return (String) x;
        }
        if (x instanceof Boolean) {
            return (Boolean) x ? "True" : "False";
        }
        if (x instanceof Double) {
            return Text.floatRepr((Double) x);
        }
        if (x instanceof Tuple) {
            throw new IllegalStateException("str() of a tuple: the parser never allows it");
        }
        return Text.intText(x);
    }
}
