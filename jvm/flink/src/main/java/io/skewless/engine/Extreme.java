package io.skewless.engine;

/** The accumulator of min and max: a value, or none over an empty window. */
public final class Extreme implements Accumulator {
    static final int TAG = 4;

    boolean present;
    double value;

    Extreme(boolean present, double value) {
        this.present = present;
        this.value = value;
    }

    @Override
    public Extreme copy() {
        return new Extreme(present, value);
    }

    @Override
    public void write(ByteWriter out) {
        out.writeByte(TAG);
        out.writeBoolean(present);
        if (present) {
            out.writeDouble(value);
        }
    }

    static Extreme read(ByteReader in) {
        boolean present = in.readBoolean();
        return new Extreme(present, present ? in.readDouble() : 0.0);
    }
}
