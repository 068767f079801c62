package io.skewless.engine;

/**
 * Population variance (divides by n): 0.0 for one event, null for none. Combined with the
 * parallel algorithm of Chan, Golub and LeVeque; {@code add} is a merge with a one-event side.
 */
public class Variance implements Aggregation<Moments> {
    @Override
    public String name() {
        return "variance";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Moments init() {
        return new Moments(0, 0.0, 0.0);
    }

    @Override
    public Moments add(Moments acc, double value, long ts) {
        combine(acc, 1, value, 0.0); // float(value): unlike min/max, -0.0 is kept (it never shows)
        return acc;
    }

    @Override
    public Moments merge(Moments into, Moments other) {
        combine(into, other.n, other.mean, other.m2);
        return into;
    }

    private static void combine(Moments a, long nb, double mb, double sb) {
        if (nb == 0) {
            return;
        }
        if (a.n == 0) {
            a.n = nb;
            a.mean = mb;
            a.m2 = sb;
            return;
        }
        long na = a.n;
        long n = na + nb;
        double delta = mb - a.mean;
        a.mean = a.mean + delta * Exact.ratio(nb, n);
        a.m2 = a.m2 + sb + delta * delta * Exact.productRatio(na, nb, n);
        a.n = n;
    }

    @Override
    public Object result(Moments acc) {
        return variance(acc);
    }

    static Double variance(Moments acc) {
        if (acc.n == 0) {
            return null;
        }
        double m2 = 0.0 > acc.m2 ? 0.0 : acc.m2; // Python's max(m2, 0.0) keeps m2 unless 0.0 > m2
        return m2 / Exact.toDouble(acc.n);
    }
}
