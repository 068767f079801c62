package io.skewless.engine;

/** Tiles walked up to {@code lastInstant}, the values they gave there, and the merged-prefix cache. */
final class Position {
    final TileMap[] tiles;
    long lastInstant = TileEngine.NONE;
    Object[] lastValues;
    // Per feature, the merge of tiles [mergedFirst, mergedLast]: the window minus its newest tile.
    // In-order events only touch the newest tile, so it is reused until the window moves.
    // A pure memo (recomputing gives the same bits), so it is neither encoded nor trusted blindly.
    final long[] mergedFirst;
    final long[] mergedLast;
    final Accumulator[] mergedPrefix;

    Position(int features) {
        this(new TileMap[features]);
        for (int i = 0; i < features; i++) {
            tiles[i] = new TileMap();
        }
    }

    private Position(TileMap[] tiles) {
        this.tiles = tiles;
        mergedFirst = new long[tiles.length];
        mergedLast = new long[tiles.length];
        mergedPrefix = new Accumulator[tiles.length];
    }

    /** An independent copy (Python's deepcopy): replaying from it never touches this one. */
    Position deepCopy() {
        TileMap[] copied = new TileMap[tiles.length];
        for (int i = 0; i < tiles.length; i++) {
            copied[i] = tiles[i].deepCopy();
        }
        Position copy = new Position(copied);
        copy.lastInstant = lastInstant;
        copy.lastValues = lastValues; // values are never mutated, sharing is safe
        for (int i = 0; i < tiles.length; i++) {
            if (mergedPrefix[i] != null) {
                copy.mergedFirst[i] = mergedFirst[i];
                copy.mergedLast[i] = mergedLast[i];
                copy.mergedPrefix[i] = mergedPrefix[i].copy();
            }
        }
        return copy;
    }

    void write(ByteWriter out) {
        out.writeSignedVarLong(lastInstant);
        Values.write(lastValues, out);
        for (TileMap map : tiles) {
            map.write(out);
        }
    }

    static Position read(ByteReader in, int features) {
        long lastInstant = in.readSignedVarLong();
        Object[] lastValues = Values.read(in);
        TileMap[] tiles = new TileMap[features];
        for (int i = 0; i < features; i++) {
            tiles[i] = TileMap.read(in);
        }
        Position p = new Position(tiles);
        p.lastInstant = lastInstant;
        p.lastValues = lastValues;
        return p;
    }
}
