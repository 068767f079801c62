package io.skewless.engine;

import org.apache.datasketches.hll.Union;

/**
 * The number of distinct values as an Apache DataSketches HyperLogLog with lgConfigK = precision
 * (2^precision registers; relative standard error about 1.04 / sqrt(2^precision)). The accumulator is a
 * {@link Union}: values go straight into it and tiles merge into it, register-wise max. The answer is
 * the union's composite estimate, which depends only on the registers (not on the order or grouping
 * of adds and merges), so a window's value is the same however it was tiled or restored.
 */
public final class ApproxCountDistinct implements Aggregation<ApproxCountDistinct.Acc> {
    static final int TAG = 12;
    /** Tags of the hand-written HyperLogLog (sparse, dense) of state format 1. */
    static final int LEGACY_SPARSE_TAG = 9;
    static final int LEGACY_DENSE_TAG = 10;

    private final int precision;

    public ApproxCountDistinct(int precision) {
        if (precision < 4 || precision > 21) {
            throw new IllegalArgumentException("precision must be in 4..21 (DataSketches lgConfigK), not " + precision);
        }
        this.precision = precision;
    }

    /**
     * A DataSketches HLL union (HLL_8 registers), serialized as its updatable image: unlike the compact
     * one (whose coupon order depends on the hash table it was compacted from), that reads back and
     * re-encodes to the same bytes.
     */
    public static final class Acc implements Accumulator {
        final Union union;

        Acc(Union union) {
            this.union = union;
        }

        @Override
        public Acc copy() {
            return new Acc(Union.heapify(union.toUpdatableByteArray()));
        }

        @Override
        public void write(ByteWriter out) {
            byte[] image = union.toUpdatableByteArray();
            out.writeByte(TAG);
            out.writeVarInt(image.length);
            out.writeBytes(image);
        }

        static Acc read(ByteReader in) {
            byte[] image = in.readBytes(in.readVarInt());
            try {
                return new Acc(Union.heapify(image));
            } catch (RuntimeException e) { // DataSketches' own exceptions, or bounds errors of a truncated image
                throw new IllegalArgumentException("corrupt engine state: bad HyperLogLog image: " + e.getMessage(), e);
            }
        }

        /** The union's lgConfigK (its precision). */
        int precision() {
            return union.getLgConfigK();
        }
    }

    @Override
    public String name() {
        return "approx_count_distinct";
    }

    @Override
    public ValueType valueType() {
        return ValueType.LONG;
    }

    @Override
    public Acc init() {
        return new Acc(new Union(precision));
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        acc.union.update(value); // DataSketches canonicalizes -0.0 to 0.0 and every NaN to one
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        if (!other.union.isEmpty()) {
            into.union.update(other.union.getResult());
        }
        return into;
    }

    double estimate(Acc acc) {
        return acc.union.getCompositeEstimate();
    }

    @Override
    public Object result(Acc acc) {
        return Math.round(estimate(acc));
    }
}
