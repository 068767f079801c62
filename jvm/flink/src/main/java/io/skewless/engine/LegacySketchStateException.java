package io.skewless.engine;

/**
 * Keyed state holding a sketch in the hand-written form of engine state format 1 (the
 * HyperLogLog and DDSketch before DataSketches and sketches-java replaced them). Those
 * accumulators cannot be converted: their hashes and buckets differ from the libraries'.
 */
public final class LegacySketchStateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    LegacySketchStateException(String sketch) {
        super("engine state holds a " + sketch + " in the format-1 hand-written sketch encoding, which this "
                + "version no longer reads (sketches now come from Apache DataSketches and sketches-java); "
                + "restart the view from a fresh lineage (a new view version, or no checkpoint or savepoint "
                + "to restore) instead of restoring this state");
    }
}
