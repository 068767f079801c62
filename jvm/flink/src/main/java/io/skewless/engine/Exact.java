package io.skewless.engine;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;

/** Python's exact-integer float conversions: int -> float and int / int are correctly rounded. */
final class Exact {
    private static final long EXACT_LIMIT = 1L << 53;
    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    private Exact() {}

    /** float(n): exact below 2^53, where Java's conversion is also exact. Above, Java rounds to nearest too. */
    static double toDouble(long n) {
        return (double) n;
    }

    /** num / den as Python's int true division: the correctly rounded quotient. */
    static double ratio(long num, long den) {
        if (Math.abs(num) < EXACT_LIMIT && Math.abs(den) < EXACT_LIMIT) {
            return (double) num / (double) den; // both exact, one rounding: correctly rounded
        }
        // Rare (counts past 2^53): 40 significant digits then one more rounding; a double rounding
        // can only differ from Python at an exact tie of 40 digits.
        return new BigDecimal(num).divide(new BigDecimal(den), new MathContext(40)).doubleValue();
    }

    /** (a * b) / den as Python's int true division, the product taken exactly. */
    static double productRatio(long a, long b, long den) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if (hi == 0 && lo >= 0 && lo < EXACT_LIMIT && Math.abs(den) < EXACT_LIMIT) {
            return (double) lo / (double) den;
        }
        BigDecimal product = new BigDecimal(BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)));
        return product.divide(new BigDecimal(den), new MathContext(40)).doubleValue();
    }

    /** An unsigned 64-bit integer as a double, rounded to nearest (ties to even) like Python's float(). */
    static double unsignedToDouble(long u) {
        if (u >= 0) {
            return (double) u;
        }
        // Halve keeping the sticky bit, convert (one rounding), double back: still correctly rounded.
        return ((double) ((u >>> 1) | (u & 1))) * 2.0;
    }

    /** float(u + 1) for an unsigned 64-bit u, where u + 1 may be 2^64. */
    static double unsignedPlusOneToDouble(long u) {
        return u == -1L ? TWO_64.doubleValue() : unsignedToDouble(u + 1);
    }
}
