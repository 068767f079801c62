package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Helpers the sketch and law tests share: encoding round trips and random tilings. */
final class SketchStates {
    private SketchStates() {}

    static byte[] bytes(Accumulator acc) {
        ByteWriter out = new ByteWriter(64);
        acc.write(out);
        return out.toByteArray();
    }

    /** Encodes and decodes by tag; the re-encoding must give the same bytes. */
    @SuppressWarnings("unchecked")
    static <A extends Accumulator> A roundTrip(A acc) {
        byte[] written = bytes(acc);
        ByteReader in = new ByteReader(written);
        A back = (A) Accumulators.read(in);
        assertTrue(in.atEnd(), "the accumulator reads back all the bytes it wrote");
        assertArrayEquals(written, bytes(back), "encode(decode(bytes)) == bytes");
        return back;
    }

    static <A extends Accumulator> A accumulate(Aggregation<A> op, double[] values, long[] ts, int from, int to) {
        A acc = op.init();
        for (int i = from; i < to; i++) {
            acc = op.add(acc, values[i], ts[i]);
        }
        return acc;
    }

    static <A extends Accumulator> A accumulate(Aggregation<A> op, double[] values) {
        return accumulate(op, values, new long[values.length], 0, values.length);
    }

    /** Cut points 0 = c0 < c1 < ... < ck = n into `parts` contiguous tiles (some may be empty). */
    static int[] cuts(Random random, int n, int parts) {
        int[] cuts = new int[parts + 1];
        for (int i = 1; i < parts; i++) {
            cuts[i] = random.nextInt(n + 1);
        }
        cuts[parts] = n;
        java.util.Arrays.sort(cuts);
        return cuts;
    }

    static <A extends Accumulator> List<A> tiles(Aggregation<A> op, double[] values, long[] ts, int[] cuts) {
        List<A> tiles = new ArrayList<>();
        for (int i = 0; i + 1 < cuts.length; i++) {
            tiles.add(accumulate(op, values, ts, cuts[i], cuts[i + 1]));
        }
        return tiles;
    }

    /** ((t0 + t1) + t2) + ...: the prefix merge the engine does. Tiles are left as they were. */
    @SuppressWarnings("unchecked")
    static <A extends Accumulator> A mergeLeft(Aggregation<A> op, List<A> tiles) {
        A acc = op.init();
        for (A t : tiles) {
            acc = mergeChecked(op, acc, t);
        }
        return acc;
    }

    /** t0 + (t1 + (t2 + ...)). */
    @SuppressWarnings("unchecked")
    static <A extends Accumulator> A mergeRight(Aggregation<A> op, List<A> tiles) {
        A acc = (A) tiles.get(tiles.size() - 1).copy();
        for (int i = tiles.size() - 2; i >= 0; i--) {
            acc = mergeChecked(op, (A) tiles.get(i).copy(), acc);
        }
        return acc;
    }

    /** Random pairs of neighbours merged until one is left (every bracketing can come up). */
    @SuppressWarnings("unchecked")
    static <A extends Accumulator> A mergeTree(Aggregation<A> op, List<A> tiles, Random random) {
        List<A> level = new ArrayList<>();
        for (A t : tiles) {
            level.add((A) t.copy());
        }
        while (level.size() > 1) {
            int i = random.nextInt(level.size() - 1);
            A merged = mergeChecked(op, level.get(i), level.get(i + 1));
            level.set(i, merged);
            level.remove(i + 1);
        }
        return level.get(0);
    }

    /** merge(into, other), checking that other is left untouched and not returned. */
    static <A extends Accumulator> A mergeChecked(Aggregation<A> op, A into, A other) {
        byte[] before = bytes(other);
        A out = op.merge(into, other);
        assertArrayEquals(before, bytes(other), "merge leaves its second argument untouched");
        assertTrue(out != other, "merge never returns its second argument");
        return out;
    }
}
