package io.skewless.engine;

/** Mean over a compensated sum; null over an empty window. */
public final class Avg implements Aggregation<Avg.Acc> {
    static final int TAG = 3;

    public static final class Acc implements Accumulator {
        double total;
        double comp;
        long count;

        Acc(double total, double comp, long count) {
            this.total = total;
            this.comp = comp;
            this.count = count;
        }

        @Override
        public Acc copy() {
            return new Acc(total, comp, count);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeDouble(total);
            out.writeDouble(comp);
            out.writeVarLong(count);
        }

        static Acc read(ByteReader in) {
            return new Acc(in.readDouble(), in.readDouble(), in.readVarLong());
        }
    }

    @Override
    public String name() {
        return "avg";
    }

    @Override
    public ValueType valueType() {
        return ValueType.DOUBLE;
    }

    @Override
    public Acc init() {
        return new Acc(0.0, 0.0, 0);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        acc.comp = Neumaier.compensate(acc.total, acc.comp, value);
        acc.total = acc.total + value;
        acc.count++;
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        into.comp = Neumaier.compensate(into.total, into.comp, other.total) + other.comp;
        into.total = into.total + other.total;
        into.count += other.count;
        return into;
    }

    @Override
    public Object result(Acc acc) {
        return mean(acc.total, acc.comp, acc.count);
    }

    @Override
    public Object resultOfMerge(Acc prefix, Acc newest) {
        double comp = Neumaier.compensate(prefix.total, prefix.comp, newest.total) + newest.comp;
        return mean(prefix.total + newest.total, comp, prefix.count + newest.count);
    }

    private static Double mean(double total, double comp, long count) {
        return count == 0 ? null : (total + comp) / Exact.toDouble(count);
    }
}
