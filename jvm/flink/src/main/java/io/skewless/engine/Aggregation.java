package io.skewless.engine;

/**
 * An operation over tiles: init / add / merge / result (docs/operations.md).
 *
 * <p>{@code add} and {@code merge} may update their first argument in place and return the
 * accumulator to keep (possibly a new object, e.g. when a sketch changes form). They never modify
 * {@code other}, and never return it (so a merged prefix never aliases a tile). The exact operations
 * equal the oracle (tests/oracle.py); the two sketches are the libraries' own (DataSketches HLL,
 * sketches-java DDSketch) and lie within the error bounds docs/operations.md states.
 */
public interface Aggregation<A extends Accumulator> {
    String name();

    ValueType valueType();

    A init();

    A add(A acc, double value, long ts);

    A merge(A into, A other);

    /** Long, Double, null, or a List of Double (newest first) for list results; never a view of acc. */
    Object result(A acc);

    /** {@code result(merge(copy(prefix), newest))} without touching either; ops override to skip the copy. */
    @SuppressWarnings("unchecked")
    default Object resultOfMerge(A prefix, A newest) {
        return result(merge((A) prefix.copy(), newest));
    }
}
