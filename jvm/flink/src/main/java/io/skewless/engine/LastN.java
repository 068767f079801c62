package io.skewless.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The values of the n latest events, newest first; events ordered by (event time, value), equal
 * events all counted. The accumulator keeps at most n pairs, ascending.
 */
public final class LastN implements Aggregation<LastN.Acc> {
    static final int TAG = 7;

    private final int n;

    public LastN(int n) {
        this.n = n;
    }

    public static final class Acc implements Accumulator {
        long[] ts;
        double[] values;
        int size;

        Acc(long[] ts, double[] values, int size) {
            this.ts = ts;
            this.values = values;
            this.size = size;
        }

        @Override
        public Acc copy() {
            return new Acc(Arrays.copyOf(ts, size), Arrays.copyOf(values, size), size);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeVarInt(size);
            for (int i = 0; i < size; i++) {
                out.writeSignedVarLong(ts[i]);
                out.writeDouble(values[i]);
            }
        }

        static Acc read(ByteReader in) {
            int size = in.readVarInt();
            long[] ts = new long[size];
            double[] values = new double[size];
            for (int i = 0; i < size; i++) {
                ts[i] = in.readSignedVarLong();
                values[i] = in.readDouble();
            }
            return new Acc(ts, values, size);
        }
    }

    @Override
    public String name() {
        return "last_n";
    }

    @Override
    public ValueType valueType() {
        return ValueType.LIST_DOUBLE;
    }

    @Override
    public Acc init() {
        return new Acc(new long[0], new double[0], 0);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        double v = value + 0.0;
        // Full and not above the oldest kept pair: it would be dropped at once.
        if (acc.size >= n && !Stamped.less(acc.ts[0], acc.values[0], ts, v)) {
            return acc;
        }
        int at = upperBound(acc, ts, v);
        long[] newTs = new long[acc.size + 1];
        double[] newValues = new double[acc.size + 1];
        System.arraycopy(acc.ts, 0, newTs, 0, at);
        System.arraycopy(acc.values, 0, newValues, 0, at);
        newTs[at] = ts;
        newValues[at] = v;
        System.arraycopy(acc.ts, at, newTs, at + 1, acc.size - at);
        System.arraycopy(acc.values, at, newValues, at + 1, acc.size - at);
        keepNewest(acc, newTs, newValues, acc.size + 1);
        return acc;
    }

    /** bisect_right: the first index whose pair is greater than (ts, v). */
    private static int upperBound(Acc acc, long ts, double v) {
        int lo = 0;
        int hi = acc.size;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Stamped.less(ts, v, acc.ts[mid], acc.values[mid])) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        if (other.size == 0) {
            return into;
        }
        int total = into.size + other.size;
        long[] ts = new long[total];
        double[] values = new double[total];
        int i = 0;
        int j = 0;
        for (int k = 0; k < total; k++) {
            boolean fromOther = i == into.size
                    || (j < other.size && Stamped.less(other.ts[j], other.values[j], into.ts[i], into.values[i]));
            if (fromOther) {
                ts[k] = other.ts[j];
                values[k] = other.values[j++];
            } else {
                ts[k] = into.ts[i];
                values[k] = into.values[i++];
            }
        }
        keepNewest(into, ts, values, total);
        return into;
    }

    /** sorted(...)[-n:]: the last n of an ascending run. */
    private void keepNewest(Acc acc, long[] ts, double[] values, int size) {
        if (size > n) {
            int drop = size - n;
            ts = Arrays.copyOfRange(ts, drop, size);
            values = Arrays.copyOfRange(values, drop, size);
            size = n;
        }
        acc.ts = ts;
        acc.values = values;
        acc.size = size;
    }

    @Override
    public Object result(Acc acc) {
        List<Double> out = new ArrayList<>(acc.size);
        for (int i = acc.size - 1; i >= 0; i--) {
            out.add(acc.values[i]);
        }
        return out;
    }
}
