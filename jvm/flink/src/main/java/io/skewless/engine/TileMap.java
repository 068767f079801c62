package io.skewless.engine;

import java.util.Arrays;

/**
 * One feature's tiles: tile index -> accumulator, kept sorted in parallel arrays. In-order events
 * touch the newest tile and eviction drops the oldest, so neither re-sorts nor boxes keys.
 */
final class TileMap {
    private long[] keys;
    private Accumulator[] accs;
    private int size;

    TileMap() {
        this(4);
    }

    private TileMap(int capacity) {
        keys = new long[capacity];
        accs = new Accumulator[capacity];
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    long keyAt(int i) {
        return keys[i];
    }

    Accumulator accAt(int i) {
        return accs[i];
    }

    long firstKey() {
        return keys[0];
    }

    /** The index of the first key >= k (size when none). */
    int ceilingIndex(long k) {
        if (size > 0 && keys[size - 1] < k) {
            return size;
        }
        int at = Arrays.binarySearch(keys, 0, size, k);
        return at >= 0 ? at : -at - 1;
    }

    Accumulator get(long k) {
        // The newest tile is the usual one asked for.
        if (size > 0 && keys[size - 1] == k) {
            return accs[size - 1];
        }
        int at = Arrays.binarySearch(keys, 0, size, k);
        return at >= 0 ? accs[at] : null;
    }

    void put(long k, Accumulator acc) {
        int at = ceilingIndex(k);
        if (at < size && keys[at] == k) {
            accs[at] = acc;
            return;
        }
        if (size == keys.length) {
            keys = Arrays.copyOf(keys, size * 2);
            accs = Arrays.copyOf(accs, size * 2);
        }
        System.arraycopy(keys, at, keys, at + 1, size - at);
        System.arraycopy(accs, at, accs, at + 1, size - at);
        keys[at] = k;
        accs[at] = acc;
        size++;
    }

    /** Drops every tile with a key below k. */
    void removeBelow(long k) {
        int cut = ceilingIndex(k);
        if (cut == 0) {
            return;
        }
        System.arraycopy(keys, cut, keys, 0, size - cut);
        System.arraycopy(accs, cut, accs, 0, size - cut);
        Arrays.fill(accs, size - cut, size, null);
        size -= cut;
    }

    TileMap deepCopy() {
        TileMap copy = new TileMap(Math.max(4, size));
        for (int i = 0; i < size; i++) {
            copy.keys[i] = keys[i];
            copy.accs[i] = accs[i].copy();
        }
        copy.size = size;
        return copy;
    }

    void write(ByteWriter out) {
        out.writeVarInt(size);
        long previous = 0;
        for (int i = 0; i < size; i++) {
            out.writeSignedVarLong(keys[i] - previous);
            previous = keys[i];
            accs[i].write(out);
        }
    }

    static TileMap read(ByteReader in) {
        int size = in.readVarInt();
        TileMap map = new TileMap(Math.max(4, size));
        long previous = 0;
        for (int i = 0; i < size; i++) {
            previous += in.readSignedVarLong();
            map.keys[i] = previous;
            map.accs[i] = Accumulators.read(in);
        }
        map.size = size;
        return map;
    }
}
