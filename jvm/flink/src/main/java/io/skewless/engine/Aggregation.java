package io.skewless.engine;

/**
 * An operation over tiles: init / add / merge / result, as in udfs/aggregations.py.
 *
 * <p>Python's accumulators are immutable; here {@code add} and {@code merge} may update their first
 * argument in place and return the accumulator to keep (possibly a new object, e.g. when a sketch
 * changes form). They never modify {@code other}, and never return it (so a merged prefix never
 * aliases a tile). Every step of the exact operations runs the same floating-point operations in
 * the same order as Python, so results are bit-identical; the two sketches are the libraries' own
 * (DataSketches HLL, sketches-java DDSketch) and agree with Python only within their error bounds.
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
