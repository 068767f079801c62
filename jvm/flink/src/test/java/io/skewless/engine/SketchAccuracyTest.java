package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.datadoghq.sketch.ddsketch.store.Store;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The library sketches against exact answers: approx_count_distinct within 3 x 1.04 / sqrt(2^p)
 * relative, approx_percentile within relative_accuracy of the value of rank floor(q (n - 1)) (the
 * rank of tests/oracle.py), directly, after merges in any grouping, and after a state round trip.
 */
class SketchAccuracyTest {
    private static final int[] CARDINALITIES = {0, 1, 2, 10, 100, 1_000, 5_000, 20_000, 100_000};

    // ---- approx_count_distinct ----

    /** n distinct values (a mix of integers, fractions, negatives and -0.0/0.0), each seen 1-3 times. */
    private static double[] distinctValues(int n, Random random) {
        Set<Double> seen = new HashSet<>();
        double[] distinct = new double[n];
        int k = 0;
        while (k < n) {
            double v;
            switch (random.nextInt(3)) {
                case 0:
                    v = random.nextInt(1_000_000) - 500_000;
                    break;
                case 1:
                    v = random.nextGaussian() * 1e6;
                    break;
                default:
                    v = Math.exp(random.nextGaussian() * 5);
            }
            v += 0.0; // -0.0 and 0.0 are one value
            if (seen.add(v)) {
                distinct[k++] = v;
            }
        }
        double[] values = new double[n == 0 ? 0 : n + n / 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = i < n ? distinct[i] : distinct[random.nextInt(n)];
        }
        for (int i = values.length - 1; i > 0; i--) { // shuffle: repeats come anywhere
            int j = random.nextInt(i + 1);
            double t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
        return values;
    }

    private static void assertHllWithin(int precision, long exact, Object got, String what) {
        long estimate = (Long) got;
        double bound = 3 * 1.04 / Math.sqrt(Math.pow(2, precision)) * exact;
        assertTrue(Math.abs(estimate - exact) <= bound,
                what + ": p=" + precision + " exact=" + exact + " estimate=" + estimate + " bound=" + bound);
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 8, 12, 16})
    void hyperLogLogIsWithinThreeStandardErrors(int precision) {
        Random random = new Random(1000 + precision);
        ApproxCountDistinct op = new ApproxCountDistinct(precision);
        for (int n : CARDINALITIES) {
            double[] values = distinctValues(n, random);
            ApproxCountDistinct.Acc acc = SketchStates.accumulate(op, values);
            assertEquals(precision, acc.precision(), "lgConfigK is the precision");
            assertHllWithin(precision, n, op.result(acc), "direct");
            assertHllWithin(precision, n, op.result(SketchStates.roundTrip(acc)), "after a round trip");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 10, 12, 16})
    void hyperLogLogMergesInAnyGroupingGiveTheSameEstimate(int precision) {
        Random random = new Random(2000 + precision);
        ApproxCountDistinct op = new ApproxCountDistinct(precision);
        for (int n : CARDINALITIES) {
            double[] values = distinctValues(n, random);
            long[] ts = new long[values.length];
            Object whole = op.result(SketchStates.accumulate(op, values));
            for (int parts : new int[] {1, 2, 7, 30}) {
                List<ApproxCountDistinct.Acc> tiles = SketchStates.tiles(op, values, ts,
                        SketchStates.cuts(random, values.length, parts));
                for (ApproxCountDistinct.Acc merged : List.of(SketchStates.mergeLeft(op, tiles),
                        SketchStates.mergeRight(op, tiles), SketchStates.mergeTree(op, tiles, random))) {
                    assertHllWithin(precision, n, op.result(merged), parts + " tiles merged");
                    // The composite estimate depends only on the registers: tiling does not show.
                    assertEquals(whole, op.result(merged), "n=" + n + ", " + parts + " tiles");
                    assertEquals(whole, op.result(SketchStates.roundTrip(merged)));
                }
                // Round-tripped tiles merge like the originals (a restore between tiles).
                List<ApproxCountDistinct.Acc> restored = tiles.stream().map(SketchStates::roundTrip).toList();
                assertEquals(whole, op.result(SketchStates.mergeLeft(op, restored)));
            }
        }
    }

    @Test
    void hyperLogLogCountsCanonicalValuesOnce() {
        ApproxCountDistinct op = new ApproxCountDistinct(12);
        double[] values = {0.0, -0.0, Double.NaN, Double.longBitsToDouble(0x7FF8000000000001L), 1.0, 1.0};
        assertEquals(3L, op.result(SketchStates.accumulate(op, values)));
        assertEquals(0L, op.result(op.init()));
    }

    // ---- approx_percentile ----

    private static final double[] QS = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};

    private static double[] sample(String kind, int n, Random random) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            switch (kind) {
                case "uniform":
                    values[i] = random.nextDouble() * 1000;
                    break;
                case "lognormal":
                    values[i] = Math.exp(random.nextGaussian() * 2);
                    break;
                case "negatives":
                    values[i] = -Math.exp(random.nextGaussian() * 3);
                    break;
                case "mixed":
                    values[i] = random.nextGaussian() * 100;
                    break;
                case "zeros":
                    values[i] = random.nextInt(3) == 0 ? random.nextGaussian() * 10 : (random.nextBoolean() ? 0.0 : -0.0);
                    break;
                case "integers":
                    values[i] = random.nextInt(20) - 5;
                    break;
                default:
                    throw new IllegalArgumentException(kind);
            }
        }
        return values;
    }

    private static final String[] KINDS = {"uniform", "lognormal", "negatives", "mixed", "zeros", "integers"};

    /** oracle.exact: sorted(values)[floor(q * (n - 1))]. */
    private static double exactQuantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[(int) Math.floor(q * (sorted.length - 1))];
    }

    private static void assertQuantileWithin(double accuracy, double exact, Object got, String what) {
        double v = (Double) got;
        double bound = accuracy * Math.abs(exact) + 1e-9 * Math.abs(exact) + 1e-300;
        assertTrue(Math.abs(v - exact) <= bound, what + ": exact=" + exact + " got=" + v + " bound=" + bound);
    }

    /**
     * Within relative accuracy whenever no store collapses: max_buckets at its bound (65536), and at the
     * default 2048 for accuracies whose 2048 bins span the samples (gamma^2048 is 6e17 at 1%). At 0.1%
     * 2048 bins span only a factor 60: there the stores collapse (ddSketchStoresStayWithinMaxBuckets).
     */
    @ParameterizedTest
    @CsvSource({"0.001,65536", "0.01,65536", "0.05,65536", "0.2,65536", "0.01,2048", "0.05,2048", "0.2,2048"})
    void ddSketchIsWithinRelativeAccuracy(double accuracy, int maxBuckets) {
        Random random = new Random(Double.hashCode(accuracy) + maxBuckets);
        for (String kind : KINDS) {
            for (int n : new int[] {1, 2, 3, 10, 1_000, 50_000}) {
                double[] values = sample(kind, n, random);
                for (double q : QS) {
                    ApproxPercentile op = new ApproxPercentile(q, accuracy, maxBuckets);
                    ApproxPercentile.Acc acc = SketchStates.accumulate(op, values);
                    double exact = exactQuantile(values, q);
                    String what = kind + " n=" + n + " q=" + q + " accuracy=" + accuracy + " max_buckets=" + maxBuckets;
                    assertQuantileWithin(accuracy, exact, op.result(acc), what);
                    assertQuantileWithin(accuracy, exact, op.result(SketchStates.roundTrip(acc)), what + " round trip");
                }
            }
        }
    }

    @Test
    void ddSketchMergesInAnyGroupingStayWithinRelativeAccuracy() {
        Random random = new Random(7);
        double accuracy = 0.01;
        for (String kind : KINDS) {
            double[] values = sample(kind, 20_000, random);
            long[] ts = new long[values.length];
            for (double q : QS) {
                ApproxPercentile op = new ApproxPercentile(q, accuracy, 2048);
                double exact = exactQuantile(values, q);
                Object whole = op.result(SketchStates.accumulate(op, values));
                for (int parts : new int[] {2, 9, 40}) {
                    List<ApproxPercentile.Acc> tiles = SketchStates.tiles(op, values, ts,
                            SketchStates.cuts(random, values.length, parts));
                    List<ApproxPercentile.Acc> restored = tiles.stream().map(SketchStates::roundTrip).toList();
                    for (ApproxPercentile.Acc merged : List.of(SketchStates.mergeLeft(op, tiles),
                            SketchStates.mergeRight(op, tiles), SketchStates.mergeTree(op, tiles, random),
                            SketchStates.mergeLeft(op, restored))) {
                        String what = kind + " q=" + q + " " + parts + " tiles";
                        assertQuantileWithin(accuracy, exact, op.result(merged), what);
                        // Bin counts add up exactly, so the grouping does not show in the answer.
                        assertEquals(whole, op.result(merged), what);
                        assertEquals(whole, op.result(SketchStates.roundTrip(merged)), what + " round trip");
                    }
                }
            }
        }
    }

    private static int width(Store store) {
        return store.isEmpty() ? 0 : store.getMaxIndex() - store.getMinIndex() + 1;
    }

    @Test
    void ddSketchStoresStayWithinMaxBuckets() {
        Random random = new Random(3);
        int maxBuckets = 16;
        double accuracy = 0.01;
        // Spread over 1e-6 .. 1e6 (about 1400 bins at 1%), both signs.
        double[] values = new double[20_000];
        for (int i = 0; i < values.length; i++) {
            double magnitude = Math.pow(10, random.nextDouble() * 12 - 6);
            values[i] = random.nextBoolean() ? magnitude : -magnitude;
        }
        ApproxPercentile op = new ApproxPercentile(0.5, accuracy, maxBuckets);
        ApproxPercentile.Acc whole = SketchStates.accumulate(op, values);
        List<ApproxPercentile.Acc> tiles = SketchStates.tiles(op, values, new long[values.length],
                SketchStates.cuts(random, values.length, 10));
        for (ApproxPercentile.Acc acc : List.of(whole, SketchStates.mergeTree(op, tiles, random),
                SketchStates.roundTrip(whole))) {
            assertTrue(width(acc.sketch.getPositiveValueStore()) <= maxBuckets, "positive store width");
            assertTrue(width(acc.sketch.getNegativeValueStore()) <= maxBuckets, "negative store width");
            assertEquals(values.length, acc.sketch.getCount(), 0.0, "collapsing keeps every count");
        }
        // The highest values' bins are kept: a high quantile keeps its accuracy; the lowest values
        // (the most negative) fold upwards, so a low quantile is at worst overestimated.
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        for (double q : new double[] {0.999, 0.9999}) {
            ApproxPercentile high = new ApproxPercentile(q, accuracy, maxBuckets);
            assertQuantileWithin(accuracy, exactQuantile(values, q),
                    high.result(SketchStates.accumulate(high, values)), "high q=" + q);
        }
        ApproxPercentile low = new ApproxPercentile(0.01, accuracy, maxBuckets);
        double exactLow = exactQuantile(values, 0.01);
        double gotLow = (Double) low.result(SketchStates.accumulate(low, values));
        assertTrue(gotLow >= exactLow - accuracy * Math.abs(exactLow), "low quantile is not underestimated");
    }

    @Test
    void ddSketchExtremesAreExactAndEmptyIsNull() {
        ApproxPercentile min = new ApproxPercentile(0.0, 0.05, 64);
        ApproxPercentile max = new ApproxPercentile(1.0, 0.05, 64);
        double[] values = {3.14159, -2.5, 1e-300, 7e300, Double.MAX_VALUE, -Double.MAX_VALUE, 0.0};
        assertEquals(-Double.MAX_VALUE, min.result(SketchStates.accumulate(min, values)));
        assertEquals(Double.MAX_VALUE, max.result(SketchStates.accumulate(max, values)));
        assertNull(min.result(min.init()));
        assertNull(min.result(SketchStates.roundTrip(min.init())));
        ApproxPercentile median = new ApproxPercentile(0.5, 0.01, 2048);
        assertEquals(0.0, median.result(SketchStates.accumulate(median, new double[] {-0.0, 0.0, -0.0})));
    }
}
