package io.skewless.engine;

import java.util.Arrays;

/**
 * HyperLogLog with p index bits over {@link Hash64}: sparse (25-bit indexes, as HLL++) while at most
 * m/8 entries are set, then m dense registers. Merge is a register-wise max, so the accumulator of a
 * window does not depend on tiling. Estimates: linear counting over 2^25 buckets while sparse,
 * Ertl's improved raw estimator once dense.
 */
public final class ApproxCountDistinct implements Aggregation<Accumulator> {
    static final int SPARSE_TAG = 9;
    static final int DENSE_TAG = 10;
    private static final int SPARSE_P = 25;
    private static final int SPARSE_W = 64 - SPARSE_P;
    private static final double LN2 = StrictMath.log(2.0);

    private final int precision;
    private final int m;
    private final int q;
    private final int sparseLimit;

    public ApproxCountDistinct(int precision) {
        this.precision = precision;
        this.m = 1 << precision;
        this.q = 64 - precision;
        this.sparseLimit = Math.max(1, m / 8);
    }

    /** Sparse form: sorted 25-bit indexes with their ranks. */
    public static final class Sparse implements Accumulator {
        int[] index;
        byte[] rank;
        int size;

        Sparse(int[] index, byte[] rank, int size) {
            this.index = index;
            this.rank = rank;
            this.size = size;
        }

        int rankOf(int idx) {
            int at = Arrays.binarySearch(index, 0, size, idx);
            return at >= 0 ? rank[at] : 0;
        }

        /** Raises the rank at idx (inserting it if absent). */
        void raise(int idx, int r) {
            int at = Arrays.binarySearch(index, 0, size, idx);
            if (at >= 0) {
                if (rank[at] < r) {
                    rank[at] = (byte) r;
                }
                return;
            }
            at = -at - 1;
            if (size == index.length) {
                int grown = Math.max(4, index.length * 2);
                index = Arrays.copyOf(index, grown);
                rank = Arrays.copyOf(rank, grown);
            }
            System.arraycopy(index, at, index, at + 1, size - at);
            System.arraycopy(rank, at, rank, at + 1, size - at);
            index[at] = idx;
            rank[at] = (byte) r;
            size++;
        }

        @Override
        public Sparse copy() {
            return new Sparse(Arrays.copyOf(index, size), Arrays.copyOf(rank, size), size);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(SPARSE_TAG);
            out.writeVarInt(size);
            int previous = 0;
            for (int i = 0; i < size; i++) {
                out.writeVarInt(index[i] - previous);
                out.writeByte(rank[i]);
                previous = index[i];
            }
        }

        static Sparse read(ByteReader in) {
            int size = in.readVarInt();
            int[] index = new int[size];
            byte[] rank = new byte[size];
            int previous = 0;
            for (int i = 0; i < size; i++) {
                previous += in.readVarInt();
                index[i] = previous;
                rank[i] = (byte) in.readByte();
            }
            return new Sparse(index, rank, size);
        }
    }

    /** Dense form: m registers, each 0..q+1. */
    public static final class Dense implements Accumulator {
        final byte[] registers;

        Dense(byte[] registers) {
            this.registers = registers;
        }

        @Override
        public Dense copy() {
            return new Dense(registers.clone());
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(DENSE_TAG);
            out.writeVarInt(registers.length);
            out.writeBytes(registers);
        }

        static Dense read(ByteReader in) {
            return new Dense(in.readBytes(in.readVarInt()));
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
    public Accumulator init() {
        return new Sparse(new int[0], new byte[0], 0);
    }

    @Override
    public Accumulator add(Accumulator acc, double value, long ts) {
        long h = Hash64.of(value);
        if (acc instanceof Dense dense) {
            int idx = (int) (h >>> q);
            int rank = q - Hash64.bitLength(h & ((1L << q) - 1)) + 1;
            if (dense.registers[idx] < rank) {
                dense.registers[idx] = (byte) rank;
            }
            return dense;
        }
        Sparse sparse = (Sparse) acc;
        int idx = (int) (h >>> SPARSE_W);
        int rank = SPARSE_W - Hash64.bitLength(h & ((1L << SPARSE_W) - 1)) + 1;
        if (sparse.rankOf(idx) >= rank) {
            return sparse;
        }
        sparse.raise(idx, rank);
        return sparse.size > sparseLimit ? densify(sparse) : sparse;
    }

    @Override
    public Accumulator merge(Accumulator into, Accumulator other) {
        if (into instanceof Dense a) {
            if (other instanceof Dense b) {
                maxInto(a.registers, b.registers);
            } else {
                raiseDense(a.registers, (Sparse) other);
            }
            return a;
        }
        Sparse a = (Sparse) into;
        if (other instanceof Dense b) {
            if (a.size == 0) {
                return b.copy();
            }
            Dense out = densify(a);
            maxInto(out.registers, b.registers);
            return out;
        }
        Sparse b = (Sparse) other;
        if (b.size == 0) {
            return a;
        }
        if (a.size == 0) {
            return b.copy();
        }
        for (int i = 0; i < b.size; i++) {
            a.raise(b.index[i], b.rank[i]);
        }
        return a.size > sparseLimit ? densify(a) : a;
    }

    private static void maxInto(byte[] into, byte[] other) {
        for (int i = 0; i < into.length; i++) {
            if (into[i] < other[i]) {
                into[i] = other[i];
            }
        }
    }

    /** The dense registers the sparse entries' hashes would have set. */
    private Dense densify(Sparse sparse) {
        byte[] registers = new byte[m];
        raiseDense(registers, sparse);
        return new Dense(registers);
    }

    private void raiseDense(byte[] registers, Sparse sparse) {
        int shift = SPARSE_P - precision;
        int low = (1 << shift) - 1;
        for (int j = 0; j < sparse.size; j++) {
            int idx = sparse.index[j];
            int rest = idx & low;
            int r = rest != 0 ? shift - Hash64.bitLength(rest) + 1 : shift + sparse.rank[j];
            int i = idx >>> shift;
            if (registers[i] < r) {
                registers[i] = (byte) r;
            }
        }
    }

    double estimate(Accumulator acc) {
        if (acc instanceof Sparse sparse) {
            if (sparse.size == 0) {
                return 0.0;
            }
            long buckets = 1L << SPARSE_P;
            return Exact.toDouble(buckets) * StrictMath.log(Exact.ratio(buckets, buckets - sparse.size));
        }
        byte[] registers = ((Dense) acc).registers;
        int[] counts = new int[q + 2];
        for (byte r : registers) {
            counts[r]++;
        }
        double z = m * tau(1.0 - Exact.ratio(counts[q + 1], m));
        for (int k = q; k > 0; k--) {
            z = 0.5 * (z + counts[k]);
        }
        z += m * sigma(Exact.ratio(counts[0], m));
        return Exact.toDouble((long) m * m) / (2.0 * LN2) / z;
    }

    private static double sigma(double x) {
        if (x == 1.0) {
            return Double.POSITIVE_INFINITY;
        }
        double y = 1.0;
        double z = x;
        while (true) {
            x *= x;
            double zOld = z;
            z += x * y;
            y += y;
            if (z == zOld) {
                return z;
            }
        }
    }

    private static double tau(double x) {
        if (x == 0.0 || x == 1.0) {
            return 0.0;
        }
        double y = 1.0;
        double z = 1.0 - x;
        while (true) {
            x = Math.sqrt(x);
            double zOld = z;
            y *= 0.5;
            double d = 1.0 - x;
            z -= d * d * y;
            if (z == zOld) {
                return z / 3.0;
            }
        }
    }

    @Override
    public Object result(Accumulator acc) {
        return (long) Math.rint(estimate(acc));
    }
}
