package io.skewless.engine;

import java.util.Arrays;

/** Accepted events newer than the sealed point, in event-time order (ties in arrival order). */
final class RecentEvents {
    private long[] times;
    private double[][] inputs;
    private int size;

    RecentEvents() {
        this(4);
    }

    private RecentEvents(int capacity) {
        times = new long[capacity];
        inputs = new double[capacity][];
    }

    int size() {
        return size;
    }

    long time(int i) {
        return times[i];
    }

    double[] inputs(int i) {
        return inputs[i];
    }

    /** The backing arrays, valid for indexes below size(). */
    long[] times() {
        return times;
    }

    double[][] inputsArray() {
        return inputs;
    }

    /** Inserts after every event at or before {@code time} (bisect_right). */
    void insert(long time, double[] eventInputs) {
        int lo = 0;
        int hi = size;
        if (size > 0 && times[size - 1] <= time) {
            lo = size;
        }
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (time < times[mid]) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if (size == times.length) {
            times = Arrays.copyOf(times, size * 2);
            inputs = Arrays.copyOf(inputs, size * 2);
        }
        System.arraycopy(times, lo, times, lo + 1, size - lo);
        System.arraycopy(inputs, lo, inputs, lo + 1, size - lo);
        times[lo] = time;
        inputs[lo] = eventInputs;
        size++;
    }

    void removeFirst(int n) {
        if (n == 0) {
            return;
        }
        System.arraycopy(times, n, times, 0, size - n);
        System.arraycopy(inputs, n, inputs, 0, size - n);
        Arrays.fill(inputs, size - n, size, null);
        size -= n;
    }

    void write(ByteWriter out, int features) {
        out.writeVarInt(size);
        long previous = 0;
        for (int i = 0; i < size; i++) {
            out.writeSignedVarLong(times[i] - previous);
            previous = times[i];
            for (int f = 0; f < features; f++) {
                out.writeDouble(inputs[i][f]);
            }
        }
    }

    static RecentEvents read(ByteReader in, int features) {
        int size = in.readVarInt();
        RecentEvents events = new RecentEvents(Math.max(4, size));
        long previous = 0;
        for (int i = 0; i < size; i++) {
            previous += in.readSignedVarLong();
            events.times[i] = previous;
            double[] row = new double[features];
            for (int f = 0; f < features; f++) {
                row[f] = in.readDouble();
            }
            events.inputs[i] = row;
        }
        events.size = size;
        return events;
    }
}
