package io.skewless.engine;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.encoding.ByteArrayInput;
import com.datadoghq.sketch.ddsketch.encoding.GrowingByteArrayOutput;
import com.datadoghq.sketch.ddsketch.mapping.IndexMapping;
import com.datadoghq.sketch.ddsketch.mapping.LogarithmicMapping;
import com.datadoghq.sketch.ddsketch.store.CollapsingHighestDenseStore;
import com.datadoghq.sketch.ddsketch.store.CollapsingLowestDenseStore;
import java.io.IOException;

/**
 * The q-quantile (the value of rank floor(q * (n - 1)) in ascending order) as Datadog's DDSketch
 * (sketches-java): a logarithmic index mapping with the given relative accuracy, one store for the
 * positive values and one for the negative ones (each at most maxBuckets bins wide), and a zero
 * count. Past maxBuckets bins a store collapses its lowest values into its lowest bin kept (for the
 * negative store: its most negative values), so only quantiles among the lowest values can lose
 * accuracy (they are overestimated). The exact min and max are kept besides: they answer the
 * extreme ranks and clamp the others.
 */
public final class ApproxPercentile implements Aggregation<ApproxPercentile.Acc> {
    static final int TAG = 13;
    /** Tag of the hand-written DDSketch of state format 1. */
    static final int LEGACY_TAG = 11;

    private final double q;
    private final int maxBuckets;
    private final double relativeAccuracy;
    private final IndexMapping mapping;
    private final double maxTrackable;

    public ApproxPercentile(double q, double relativeAccuracy, int maxBuckets) {
        if (!(q >= 0.0 && q <= 1.0)) {
            throw new IllegalArgumentException("q must be in [0, 1], not " + q);
        }
        if (maxBuckets < 1) {
            throw new IllegalArgumentException("max_buckets must be positive, not " + maxBuckets);
        }
        this.q = q;
        this.maxBuckets = maxBuckets;
        this.relativeAccuracy = relativeAccuracy;
        this.mapping = new LogarithmicMapping(relativeAccuracy);
        this.maxTrackable = mapping.maxIndexableValue();
    }

    /** A DDSketch plus the exact min and max of what it was given, and the sketch's parameters. */
    public static final class Acc implements Accumulator {
        final DDSketch sketch;
        final double relativeAccuracy;
        final int maxBuckets;
        double min;
        double max;

        Acc(DDSketch sketch, double relativeAccuracy, int maxBuckets, double min, double max) {
            this.sketch = sketch;
            this.relativeAccuracy = relativeAccuracy;
            this.maxBuckets = maxBuckets;
            this.min = min;
            this.max = max;
        }

        @Override
        public Acc copy() {
            return new Acc(sketch.copy(), relativeAccuracy, maxBuckets, min, max);
        }

        /**
         * Tag, relative accuracy, max buckets, min, max, then the sketch's own encoding (which names its
         * index mapping too: decoding checks it against the one the parameters give).
         */
        @Override
        public void write(ByteWriter out) {
            GrowingByteArrayOutput image = GrowingByteArrayOutput.withDefaultInitialCapacity();
            try {
                sketch.encode(image, false);
            } catch (IOException e) {
                throw new IllegalStateException("DDSketch encoding failed", e); // in-memory output: never
            }
            out.writeByte(TAG);
            out.writeDouble(relativeAccuracy);
            out.writeVarInt(maxBuckets);
            out.writeDouble(min);
            out.writeDouble(max);
            out.writeVarInt(image.numWrittenBytes());
            out.writeBytes(image.trimmedCopy());
        }

        static Acc read(ByteReader in) {
            double relativeAccuracy = in.readDouble();
            int maxBuckets = in.readVarInt();
            double min = in.readDouble();
            double max = in.readDouble();
            byte[] image = in.readBytes(in.readVarInt());
            try {
                // Decoded straight into stores of the kinds the operation uses. (DDSketch.decode would
                // give both signs one kind of store, and in sketches-java 0.8.3 merging another kind of
                // store into a collapsing one loses counts.)
                DDSketch sketch = sketch(new LogarithmicMapping(relativeAccuracy), maxBuckets);
                sketch.decodeAndMergeWith(ByteArrayInput.wrap(image));
                return new Acc(sketch, relativeAccuracy, maxBuckets, min, max);
            } catch (IOException | RuntimeException e) {
                throw new IllegalArgumentException("corrupt engine state: bad DDSketch image: " + e.getMessage(), e);
            }
        }
    }

    /** An empty sketch: each sign's store keeps at most maxBuckets bins, collapsing the lowest values. */
    static DDSketch sketch(IndexMapping mapping, int maxBuckets) {
        // Negative values are stored by magnitude: the lowest of them have the highest indexes.
        return new DDSketch(mapping,
                () -> new CollapsingHighestDenseStore(maxBuckets),
                () -> new CollapsingLowestDenseStore(maxBuckets));
    }

    @Override
    public String name() {
        return "approx_percentile";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Acc init() {
        return new Acc(sketch(mapping, maxBuckets), relativeAccuracy, maxBuckets, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        double v = value + 0.0;
        // Values beyond what the mapping indexes (near Double.MAX_VALUE) go to its extreme bin.
        acc.sketch.accept(Math.max(-maxTrackable, Math.min(maxTrackable, v)));
        if (v < acc.min) {
            acc.min = v;
        }
        if (v > acc.max) {
            acc.max = v;
        }
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        if (other.sketch.isEmpty()) {
            return into;
        }
        into.sketch.mergeWith(other.sketch);
        if (other.min < into.min) {
            into.min = other.min;
        }
        if (other.max > into.max) {
            into.max = other.max;
        }
        return into;
    }

    @Override
    public Object result(Acc acc) {
        if (acc.sketch.isEmpty()) {
            return null;
        }
        double n = acc.sketch.getCount();
        double rank = q * (n - 1);
        if (rank < 1) {
            return acc.min;
        }
        if (rank >= n - 1) {
            return acc.max;
        }
        double v = acc.sketch.getValueAtQuantile(q);
        return Math.min(acc.max, Math.max(acc.min, v));
    }
}
