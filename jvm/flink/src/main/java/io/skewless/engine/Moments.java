package io.skewless.engine;

/** The accumulator of variance and stddev: (count, mean, sum of squared deviations from the mean). */
public final class Moments implements Accumulator {
    static final int TAG = 5;

    long n;
    double mean;
    double m2;

    Moments(long n, double mean, double m2) {
        this.n = n;
        this.mean = mean;
        this.m2 = m2;
    }

    @Override
    public Moments copy() {
        return new Moments(n, mean, m2);
    }

    @Override
    public void write(ByteWriter out) {
        out.writeByte(TAG);
        out.writeVarLong(n);
        out.writeDouble(mean);
        out.writeDouble(m2);
    }

    static Moments read(ByteReader in) {
        return new Moments(in.readVarLong(), in.readDouble(), in.readDouble());
    }
}
