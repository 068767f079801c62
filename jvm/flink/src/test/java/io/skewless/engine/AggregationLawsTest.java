package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The exact operations' tile laws: merging tile accumulators, in any grouping, gives what
 * accumulating all the values at once gives; merge leaves its second argument alone; and a state
 * round trip keeps the value. Floating-point sums are compared to 1e-12 relative (their compensated
 * partial sums need not round identically); everything else must be equal.
 */
class AggregationLawsTest {
    private static final String[][] OPS = {
        {"count", ""}, {"sum", ""}, {"avg", ""}, {"min", ""}, {"max", ""}, {"variance", ""}, {"stddev", ""},
        {"first", ""}, {"last", ""}, {"last_n", "n=1"}, {"last_n", "n=5"}, {"last_n", "n=40"},
        {"count_distinct", ""}, {"count_distinct", "max_size=16"},
    };

    private static boolean floating(String op) {
        return op.equals("sum") || op.equals("avg") || op.equals("variance") || op.equals("stddev");
    }

    /** Values with repeats, -0.0, wide magnitudes; times with ties (first/last break them by value). */
    private static double[] values(Random random, int n) {
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            switch (random.nextInt(4)) {
                case 0:
                    values[i] = random.nextInt(7) - 3 + 0.0 * (random.nextBoolean() ? -1 : 1);
                    break;
                case 1:
                    values[i] = random.nextGaussian() * 1e6;
                    break;
                case 2:
                    values[i] = random.nextDouble();
                    break;
                default:
                    values[i] = -0.0;
            }
        }
        return values;
    }

    private static long[] times(Random random, int n) {
        long[] ts = new long[n];
        long t = 1_700_000_000_000L;
        for (int i = 0; i < n; i++) {
            t += random.nextInt(3); // ties on purpose
            ts[i] = t;
        }
        return ts;
    }

    private static void assertSameValue(String op, Object want, Object got, String what) {
        if (floating(op) && want instanceof Double w && got instanceof Double g) {
            double tolerance = 1e-12 * Math.max(Math.abs(w), 1e-300);
            assertTrue(Math.abs(w - g) <= tolerance || w.equals(g), what + ": " + w + " vs " + g);
        } else {
            assertEquals(want, got, what);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 5, 50, 2_000})
    void mergingTilesInAnyGroupingEqualsAccumulatingAll(int n) {
        Random random = new Random(n * 31L + 5);
        for (String[] spec : OPS) {
            @SuppressWarnings("unchecked")
            Aggregation<Accumulator> op = (Aggregation<Accumulator>) Operations.create(spec[0], Params.parse(spec[1]));
            for (int trial = 0; trial < 5; trial++) {
                double[] values = values(random, n);
                long[] ts = times(random, n);
                Object want = op.result(SketchStates.accumulate(op, values, ts, 0, n));
                for (int parts : new int[] {1, 2, 3, 8, 25}) {
                    int[] cuts = SketchStates.cuts(random, n, parts);
                    List<Accumulator> tiles = SketchStates.tiles(op, values, ts, cuts);
                    String what = spec[0] + "(" + spec[1] + ") n=" + n + " " + parts + " tiles";
                    assertSameValue(spec[0], want, op.result(SketchStates.mergeLeft(op, tiles)), what + " left");
                    assertSameValue(spec[0], want, op.result(SketchStates.mergeRight(op, tiles)), what + " right");
                    assertSameValue(spec[0], want, op.result(SketchStates.mergeTree(op, tiles, random)), what + " tree");
                    // resultOfMerge(prefix, newest) is result(merge(copy(prefix), newest)).
                    if (parts > 1) {
                        Accumulator prefix = SketchStates.mergeLeft(op, tiles.subList(0, parts - 1));
                        byte[] before = SketchStates.bytes(prefix);
                        assertSameValue(spec[0], want, op.resultOfMerge(prefix, tiles.get(parts - 1)), what + " resultOfMerge");
                        assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(SketchStates.bytes(prefix)),
                                "resultOfMerge leaves the prefix alone");
                    }
                    // Restored tiles (a checkpoint between tiles) merge to the same value.
                    List<Accumulator> restored = tiles.stream().map(SketchStates::roundTrip).toList();
                    assertSameValue(spec[0], want, op.result(SketchStates.mergeLeft(op, restored)), what + " restored");
                }
                Accumulator all = SketchStates.accumulate(op, values, ts, 0, n);
                assertEquals(op.result(all), op.result(SketchStates.roundTrip(all)), spec[0] + " round trip");
                assertEquals(op.result(all), op.result(all.copy()), spec[0] + " copy");
            }
        }
    }
}
