package io.skewless.engine;

/**
 * The stable 64-bit hash of a float, the same on every run and machine: the IEEE bits (-0.0 as 0.0, every
 * NaN as one NaN) through the SplitMix64 finalizer, a bijection. The result is an unsigned 64-bit
 * value held in a long.
 */
public final class Hash64 {
    private Hash64() {}

    public static long of(double value) {
        double v = value + 0.0;
        long bits = v != v ? 0x7FF8000000000000L : Double.doubleToRawLongBits(v);
        long z = bits + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
