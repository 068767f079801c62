package io.skewless.engine;

import java.util.Arrays;

/**
 * The value at each instant after the sealed point where an update was emitted (or a correction
 * re-derived it), with the revision last emitted there (-1: none yet). Sorted by instant; new
 * instants usually come last and sealing drops the first ones.
 */
final class Steps {
    static final int NO_REVISION = -1;

    private long[] instants;
    private Object[][] values;
    private int[] revisions;
    private int size;

    Steps() {
        this(4);
    }

    Steps(int capacity) {
        instants = new long[Math.max(4, capacity)];
        values = new Object[instants.length][];
        revisions = new int[instants.length];
    }

    int size() {
        return size;
    }

    long instant(int i) {
        return instants[i];
    }

    Object[] values(int i) {
        return values[i];
    }

    int revision(int i) {
        return revisions[i];
    }

    /** Sets the step at {@code instant}, keeping the order. */
    void put(long instant, Object[] stepValues, int revision) {
        int at;
        if (size == 0 || instants[size - 1] < instant) {
            at = size;
        } else {
            at = Arrays.binarySearch(instants, 0, size, instant);
            if (at >= 0) {
                values[at] = stepValues;
                revisions[at] = revision;
                return;
            }
            at = -at - 1;
        }
        if (size == instants.length) {
            instants = Arrays.copyOf(instants, size * 2);
            values = Arrays.copyOf(values, size * 2);
            revisions = Arrays.copyOf(revisions, size * 2);
        }
        System.arraycopy(instants, at, instants, at + 1, size - at);
        System.arraycopy(values, at, values, at + 1, size - at);
        System.arraycopy(revisions, at, revisions, at + 1, size - at);
        instants[at] = instant;
        values[at] = stepValues;
        revisions[at] = revision;
        size++;
    }

    /** Drops every step at or before {@code instant}. */
    void removeUpTo(long instant) {
        int cut = 0;
        while (cut < size && instants[cut] <= instant) {
            cut++;
        }
        if (cut == 0) {
            return;
        }
        System.arraycopy(instants, cut, instants, 0, size - cut);
        System.arraycopy(values, cut, values, 0, size - cut);
        System.arraycopy(revisions, cut, revisions, 0, size - cut);
        Arrays.fill(values, size - cut, size, null);
        size -= cut;
    }

    void write(ByteWriter out) {
        out.writeVarInt(size);
        long previous = 0;
        for (int i = 0; i < size; i++) {
            out.writeSignedVarLong(instants[i] - previous);
            previous = instants[i];
            out.writeVarInt(revisions[i] + 1);
            Values.write(values[i], out);
        }
    }

    static Steps read(ByteReader in) {
        int size = in.readVarInt();
        Steps steps = new Steps(size);
        long previous = 0;
        for (int i = 0; i < size; i++) {
            previous += in.readSignedVarLong();
            steps.instants[i] = previous;
            steps.revisions[i] = in.readVarInt() - 1;
            steps.values[i] = Values.read(in);
        }
        steps.size = size;
        return steps;
    }
}
