package io.skewless.logic;

/** A literal tuple's values: only ever the right side of 'in' / 'not in' (or the left of a chained compare). */
final class Tuple {
    final Object[] items;

    Tuple(Object[] items) {
        this.items = items;
    }
}
