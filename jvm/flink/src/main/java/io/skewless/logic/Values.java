package io.skewless.logic;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/** The five value types of the language (Long, Double, String, Boolean, null) by name, and str() of a double. */
public final class Values {
    private Values() {}

    public static String typeName(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Long) {
            return "long";
        }
        if (v instanceof Double) {
            return "double";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "boolean";
        }
        return v instanceof Object[] ? "tuple" : v.getClass().getSimpleName();
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double;
    }

    static double toDouble(Object v) {
        return ((Number) v).doubleValue(); // a long rounds to the nearest double, ties to even
    }

    /**
     * str(x) of a double: the fewest significant digits that read back to x (the nearest such
     * decimal), in positional notation when the decimal exponent is in [-4, 16), else d.ddde±XX.
     * Java 17's Double.toString is not always the shortest, hence this.
     */
    static String doubleText(double d) {
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
        BigDecimal digits = shortest(Math.abs(d)).stripTrailingZeros();
        String ds = digits.unscaledValue().toString();
        int point = ds.length() - digits.scale(); // value = 0.<ds> * 10^point
        StringBuilder b = new StringBuilder(sign);
        if (point <= -4 || point > 16) {
            b.append(ds.charAt(0));
            if (ds.length() > 1) {
                b.append('.').append(ds, 1, ds.length());
            }
            int exp = Math.abs(point - 1);
            b.append(point - 1 < 0 ? "e-" : "e+").append(exp < 10 ? "0" : "").append(exp);
        } else if (point <= 0) {
            b.append("0.").append("0".repeat(-point)).append(ds);
        } else if (point >= ds.length()) {
            b.append(ds).append("0".repeat(point - ds.length())).append(".0");
        } else {
            b.append(ds, 0, point).append('.').append(ds, point, ds.length());
        }
        return b.toString();
    }

    /** The exact value rounded to the fewest digits p that still read back as abs (p <= 17 always does). */
    private static BigDecimal shortest(double abs) {
        BigDecimal exact = new BigDecimal(abs);
        for (int p = 1; ; p++) {
            BigDecimal rounded = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (rounded.doubleValue() == abs) {
                return rounded;
            }
        }
    }
}
