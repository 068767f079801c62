package io.skewless.engine;

/** Compensated sum; 0.0 over an empty window. */
public final class Sum implements Aggregation<Sum.Acc> {
    static final int TAG = 2;

    public static final class Acc implements Accumulator {
        double total;
        double comp;

        Acc(double total, double comp) {
            this.total = total;
            this.comp = comp;
        }

        @Override
        public Acc copy() {
            return new Acc(total, comp);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeDouble(total);
            out.writeDouble(comp);
        }

        static Acc read(ByteReader in) {
            return new Acc(in.readDouble(), in.readDouble());
        }
    }

    @Override
    public String name() {
        return "sum";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Acc init() {
        return new Acc(0.0, 0.0);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        acc.comp = Neumaier.compensate(acc.total, acc.comp, value);
        acc.total = acc.total + value;
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        into.comp = Neumaier.compensate(into.total, into.comp, other.total) + other.comp;
        into.total = into.total + other.total;
        return into;
    }

    @Override
    public Object result(Acc acc) {
        return acc.total + acc.comp;
    }

    @Override
    public Object resultOfMerge(Acc prefix, Acc newest) {
        double comp = Neumaier.compensate(prefix.total, prefix.comp, newest.total) + newest.comp;
        return (prefix.total + newest.total) + comp;
    }
}
