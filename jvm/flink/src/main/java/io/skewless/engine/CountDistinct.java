package io.skewless.engine;

import java.util.Arrays;

/**
 * Exact number of distinct values up to maxSize, then the K-minimum-values estimate: the set keeps
 * only the maxSize smallest hashes and turns saturated. Hashes are kept sorted in unsigned order,
 * stored with the sign bit flipped so that signed comparisons order them.
 */
public final class CountDistinct implements Aggregation<CountDistinct.Acc> {
    static final int TAG = 8;
    private static final double TWO_64 = 18446744073709551616.0;

    private final int maxSize;

    public CountDistinct(int maxSize) {
        this.maxSize = maxSize;
    }

    public static final class Acc implements Accumulator {
        boolean saturated;
        long[] flipped; // hash ^ Long.MIN_VALUE, ascending
        int size;

        Acc(boolean saturated, long[] flipped, int size) {
            this.saturated = saturated;
            this.flipped = flipped;
            this.size = size;
        }

        @Override
        public Acc copy() {
            return new Acc(saturated, Arrays.copyOf(flipped, Math.max(size, 1)), size);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeBoolean(saturated);
            out.writeVarInt(size);
            long previous = Long.MIN_VALUE;
            for (int i = 0; i < size; i++) {
                out.writeVarLong(flipped[i] - previous); // ascending: non-negative gaps
                previous = flipped[i];
            }
        }

        static Acc read(ByteReader in) {
            boolean saturated = in.readBoolean();
            int size = in.readVarInt();
            long[] flipped = new long[Math.max(size, 1)];
            long previous = Long.MIN_VALUE;
            for (int i = 0; i < size; i++) {
                previous += in.readVarLong();
                flipped[i] = previous;
            }
            return new Acc(saturated, flipped, size);
        }
    }

    @Override
    public String name() {
        return "count_distinct";
    }

    @Override
    public ValueType valueType() {
        return ValueType.LONG;
    }

    @Override
    public Acc init() {
        return new Acc(false, new long[4], 0);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        long key = Hash64.of(value) ^ Long.MIN_VALUE;
        int at = Arrays.binarySearch(acc.flipped, 0, acc.size, key);
        if (at >= 0) {
            return acc;
        }
        at = -at - 1;
        if (acc.size == acc.flipped.length) {
            acc.flipped = Arrays.copyOf(acc.flipped, acc.flipped.length * 2);
        }
        System.arraycopy(acc.flipped, at, acc.flipped, at + 1, acc.size - at);
        acc.flipped[at] = key;
        acc.size++;
        cap(acc);
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        if (other.size == 0) {
            return into;
        }
        if (into.size == 0) {
            into.saturated = other.saturated;
            into.flipped = Arrays.copyOf(other.flipped, other.size);
            into.size = other.size;
            return into;
        }
        long[] union = new long[into.size + other.size];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < into.size || j < other.size) {
            long next;
            if (j == other.size || (i < into.size && into.flipped[i] <= other.flipped[j])) {
                next = into.flipped[i++];
                if (j < other.size && other.flipped[j] == next) {
                    j++;
                }
            } else {
                next = other.flipped[j++];
            }
            union[k++] = next;
        }
        into.saturated = into.saturated || other.saturated;
        into.flipped = union;
        into.size = k;
        cap(into);
        return into;
    }

    private void cap(Acc acc) {
        if (acc.size > maxSize) {
            acc.size = maxSize;
            acc.saturated = true;
        }
    }

    @Override
    public Object result(Acc acc) {
        if (!acc.saturated) {
            return (long) acc.size;
        }
        long largest = acc.flipped[acc.size - 1] ^ Long.MIN_VALUE;
        double estimate = Exact.toDouble(acc.size - 1) * TWO_64 / Exact.unsignedPlusOneToDouble(largest);
        // Python's round() is half-to-even, like Math.rint.
        return Math.max(maxSize + 1L, (long) Math.rint(estimate));
    }
}
