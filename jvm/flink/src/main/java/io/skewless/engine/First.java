package io.skewless.engine;

/** The value of the earliest event; ties on event time go to the smallest value. */
public final class First implements Aggregation<Stamped> {
    @Override
    public String name() {
        return "first";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Stamped init() {
        return new Stamped(false, 0, 0.0);
    }

    @Override
    public Stamped add(Stamped acc, double value, long ts) {
        return keep(acc, ts, value + 0.0);
    }

    @Override
    public Stamped merge(Stamped into, Stamped other) {
        return other.present ? keep(into, other.ts, other.value) : into;
    }

    /** Python's min(a, b): keeps a unless b < a. */
    private static Stamped keep(Stamped a, long ts, double value) {
        if (!a.present || Stamped.less(ts, value, a.ts, a.value)) {
            a.set(ts, value);
        }
        return a;
    }

    @Override
    public Object result(Stamped acc) {
        return acc.present ? acc.value : null;
    }

    @Override
    public Object resultOfMerge(Stamped prefix, Stamped newest) {
        if (!newest.present) {
            return result(prefix);
        }
        boolean takeNewest = !prefix.present || Stamped.less(newest.ts, newest.value, prefix.ts, prefix.value);
        return takeNewest ? newest.value : prefix.value;
    }
}
