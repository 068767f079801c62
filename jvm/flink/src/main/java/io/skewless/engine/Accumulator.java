package io.skewless.engine;

/**
 * One partial aggregate (a tile, or a merge of tiles). Mutable: operations update it in place.
 * Self-describing on the wire (a tag byte first), so {@link EntityState} decodes without the spec.
 */
public interface Accumulator {
    /** A deep copy, independent of this one. */
    Accumulator copy();

    /** Tag byte then body; {@link Accumulators#read} reads it back. */
    void write(ByteWriter out);
}
