package io.skewless.engine;

/** The accumulator of first and last: one (event time, value) pair, or none. */
public final class Stamped implements Accumulator {
    static final int TAG = 6;

    boolean present;
    long ts;
    double value;

    Stamped(boolean present, long ts, double value) {
        this.present = present;
        this.ts = ts;
        this.value = value;
    }

    /** Python's tuple order on (ts, value): (ts1, v1) < (ts2, v2). */
    static boolean less(long ts1, double v1, long ts2, double v2) {
        return ts1 < ts2 || (ts1 == ts2 && v1 < v2);
    }

    void set(long ts, double value) {
        this.present = true;
        this.ts = ts;
        this.value = value;
    }

    @Override
    public Stamped copy() {
        return new Stamped(present, ts, value);
    }

    @Override
    public void write(ByteWriter out) {
        out.writeByte(TAG);
        out.writeBoolean(present);
        if (present) {
            out.writeSignedVarLong(ts);
            out.writeDouble(value);
        }
    }

    static Stamped read(ByteReader in) {
        boolean present = in.readBoolean();
        return present ? new Stamped(true, in.readSignedVarLong(), in.readDouble()) : new Stamped(false, 0, 0.0);
    }
}
