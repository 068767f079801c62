package io.skewless.engine;

/** Population standard deviation: the square root of {@link Variance}, same accumulator. */
public final class StdDev extends Variance {
    @Override
    public String name() {
        return "stddev";
    }

    @Override
    public Object result(Moments acc) {
        Double var = variance(acc);
        return var == null ? null : Math.sqrt(var);
    }
}
