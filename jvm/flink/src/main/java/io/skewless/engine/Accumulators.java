package io.skewless.engine;

/** Reads back any accumulator by its tag byte. */
final class Accumulators {
    private Accumulators() {}

    static Accumulator read(ByteReader in) {
        int tag = in.readByte();
        switch (tag) {
            case Count.TAG:
                return Count.Acc.read(in);
            case Sum.TAG:
                return Sum.Acc.read(in);
            case Avg.TAG:
                return Avg.Acc.read(in);
            case Extreme.TAG:
                return Extreme.read(in);
            case Moments.TAG:
                return Moments.read(in);
            case Stamped.TAG:
                return Stamped.read(in);
            case LastN.TAG:
                return LastN.Acc.read(in);
            case CountDistinct.TAG:
                return CountDistinct.Acc.read(in);
            case ApproxCountDistinct.TAG:
                return ApproxCountDistinct.Acc.read(in);
            case ApproxPercentile.TAG:
                return ApproxPercentile.Acc.read(in);
            case ApproxCountDistinct.LEGACY_SPARSE_TAG:
            case ApproxCountDistinct.LEGACY_DENSE_TAG:
                throw new LegacySketchStateException("approx_count_distinct HyperLogLog");
            case ApproxPercentile.LEGACY_TAG:
                throw new LegacySketchStateException("approx_percentile DDSketch");
            default:
                throw new IllegalArgumentException("corrupt engine state: unknown accumulator tag " + tag);
        }
    }
}
