package io.skewless.engine;

/** Largest value; null over an empty window. -0.0 is stored as 0.0. */
public final class Max implements Aggregation<Extreme> {
    @Override
    public String name() {
        return "max";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Extreme init() {
        return new Extreme(false, 0.0);
    }

    @Override
    public Extreme add(Extreme acc, double value, long ts) {
        double v = value + 0.0;
        if (!acc.present || v > acc.value) {
            acc.present = true;
            acc.value = v;
        }
        return acc;
    }

    @Override
    public Extreme merge(Extreme into, Extreme other) {
        // Python's max(a, b) keeps a unless b > a.
        if (other.present && (!into.present || other.value > into.value)) {
            into.present = true;
            into.value = other.value;
        }
        return into;
    }

    @Override
    public Object result(Extreme acc) {
        return acc.present ? acc.value : null;
    }

    @Override
    public Object resultOfMerge(Extreme prefix, Extreme newest) {
        if (!newest.present) {
            return result(prefix);
        }
        return !prefix.present || newest.value > prefix.value ? newest.value : prefix.value;
    }
}
