package io.skewless.engine;

import java.util.Arrays;

/**
 * The q-quantile as a DDSketch: logarithmic buckets (gamma^(i-1), gamma^i], mirrored for negatives,
 * an exact zero bucket, and the exact min and max. Past maxBuckets non-empty buckets the lowest ones
 * fold into the lowest bucket kept.
 */
public final class ApproxPercentile implements Aggregation<ApproxPercentile.Acc> {
    static final int TAG = 11;
    private static final int KEY_OFFSET = 1 << 21;

    private final double q;
    private final int maxBuckets;
    private final double gamma;
    private final double logGamma;

    public ApproxPercentile(double q, double relativeAccuracy, int maxBuckets) {
        this.q = q;
        this.maxBuckets = maxBuckets;
        this.gamma = (1.0 + relativeAccuracy) / (1.0 - relativeAccuracy);
        this.logGamma = StrictMath.log(gamma);
    }

    /** Bucket keys (ascending, ordered like their values) with counts, plus the exact min and max. */
    public static final class Acc implements Accumulator {
        int[] keys;
        long[] counts;
        int size;
        double min;
        double max;

        Acc(int[] keys, long[] counts, int size, double min, double max) {
            this.keys = keys;
            this.counts = counts;
            this.size = size;
            this.min = min;
            this.max = max;
        }

        @Override
        public Acc copy() {
            return new Acc(Arrays.copyOf(keys, size), Arrays.copyOf(counts, size), size, min, max);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeVarInt(size);
            int previous = 0;
            for (int i = 0; i < size; i++) {
                out.writeSignedVarLong((long) keys[i] - previous);
                out.writeVarLong(counts[i]);
                previous = keys[i];
            }
            out.writeDouble(min);
            out.writeDouble(max);
        }

        static Acc read(ByteReader in) {
            int size = in.readVarInt();
            int[] keys = new int[size];
            long[] counts = new long[size];
            long previous = 0;
            for (int i = 0; i < size; i++) {
                previous += in.readSignedVarLong();
                keys[i] = (int) previous;
                counts[i] = in.readVarLong();
            }
            return new Acc(keys, counts, size, in.readDouble(), in.readDouble());
        }
    }

    @Override
    public String name() {
        return "approx_percentile";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    /** The bucket of a value: 0 for zero, +-(index + offset) by sign, order-preserving. */
    int key(double value) {
        if (value == 0.0) {
            return 0;
        }
        double i = Math.ceil(StrictMath.log(Math.abs(value)) / logGamma);
        long k = Math.min(Math.max((long) i + KEY_OFFSET, 1L), 2L * KEY_OFFSET);
        return (int) (value > 0 ? k : -k);
    }

    double centre(int key) {
        if (key == 0) {
            return 0.0;
        }
        int i = Math.abs(key) - KEY_OFFSET;
        double v = 2.0 * StrictMath.exp(i * logGamma) / (gamma + 1.0);
        return key > 0 ? v : -v;
    }

    @Override
    public Acc init() {
        return new Acc(new int[0], new long[0], 0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        double v = value + 0.0;
        int k = key(v);
        int at = Arrays.binarySearch(acc.keys, 0, acc.size, k);
        if (at >= 0) {
            acc.counts[at]++;
        } else {
            at = -at - 1;
            if (acc.size == acc.keys.length) {
                int grown = Math.max(4, acc.keys.length * 2);
                acc.keys = Arrays.copyOf(acc.keys, grown);
                acc.counts = Arrays.copyOf(acc.counts, grown);
            }
            System.arraycopy(acc.keys, at, acc.keys, at + 1, acc.size - at);
            System.arraycopy(acc.counts, at, acc.counts, at + 1, acc.size - at);
            acc.keys[at] = k;
            acc.counts[at] = 1;
            acc.size++;
            fold(acc);
        }
        // Python's min(a, b) / max(a, b) keep a unless b is strictly beyond it.
        if (v < acc.min) {
            acc.min = v;
        }
        if (v > acc.max) {
            acc.max = v;
        }
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        if (other.size == 0) {
            return into;
        }
        if (into.size == 0) {
            return copyInto(into, other);
        }
        int[] keys = new int[into.size + other.size];
        long[] counts = new long[keys.length];
        int i = 0;
        int j = 0;
        int n = 0;
        while (i < into.size || j < other.size) {
            if (j == other.size || (i < into.size && into.keys[i] < other.keys[j])) {
                keys[n] = into.keys[i];
                counts[n++] = into.counts[i++];
            } else if (i == into.size || other.keys[j] < into.keys[i]) {
                keys[n] = other.keys[j];
                counts[n++] = other.counts[j++];
            } else {
                keys[n] = into.keys[i];
                counts[n++] = into.counts[i++] + other.counts[j++];
            }
        }
        into.keys = keys;
        into.counts = counts;
        into.size = n;
        fold(into);
        if (other.min < into.min) {
            into.min = other.min;
        }
        if (other.max > into.max) {
            into.max = other.max;
        }
        return into;
    }

    private static Acc copyInto(Acc into, Acc other) {
        into.keys = Arrays.copyOf(other.keys, other.size);
        into.counts = Arrays.copyOf(other.counts, other.size);
        into.size = other.size;
        into.min = other.min;
        into.max = other.max;
        return into;
    }

    /** Keep the maxBuckets highest buckets; the lower ones' counts join the lowest kept. */
    private void fold(Acc acc) {
        if (acc.size <= maxBuckets) {
            return;
        }
        int cut = acc.size - maxBuckets;
        long folded = 0;
        for (int i = 0; i < cut; i++) {
            folded += acc.counts[i];
        }
        System.arraycopy(acc.keys, cut, acc.keys, 0, maxBuckets);
        System.arraycopy(acc.counts, cut, acc.counts, 0, maxBuckets);
        acc.counts[0] += folded;
        acc.size = maxBuckets;
    }

    @Override
    public Object result(Acc acc) {
        if (acc.size == 0) {
            return null;
        }
        long n = 0;
        for (int i = 0; i < acc.size; i++) {
            n += acc.counts[i];
        }
        double rank = q * Exact.toDouble(n - 1);
        if (rank < 1) {
            return acc.min;
        }
        if (rank >= n - 1) {
            return acc.max;
        }
        long seen = 0;
        for (int i = 0; i < acc.size; i++) {
            seen += acc.counts[i];
            if (seen > rank) {
                double c = centre(acc.keys[i]);
                double clamped = acc.min > c ? acc.min : c; // max(c, lo)
                return acc.max < clamped ? acc.max : clamped; // min(., hi)
            }
        }
        return acc.max;
    }
}
