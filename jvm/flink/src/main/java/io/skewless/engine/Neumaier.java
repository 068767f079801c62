package io.skewless.engine;

/** Neumaier-compensated summation: a sum whose digits do not depend on the order tiles are merged in. */
final class Neumaier {
    private Neumaier() {}

    /** The compensation after adding {@code value} to {@code total} (whose new total is total + value). */
    static double compensate(double total, double comp, double value) {
        double sum = total + value;
        if (Math.abs(total) >= Math.abs(value)) {
            comp += (total - sum) + value;
        } else {
            comp += (value - sum) + total;
        }
        return comp;
    }
}
