package io.skewless.engine;

/** Number of events. */
public final class Count implements Aggregation<Count.Acc> {
    static final int TAG = 1;

    public static final class Acc implements Accumulator {
        long n;

        Acc(long n) {
            this.n = n;
        }

        @Override
        public Acc copy() {
            return new Acc(n);
        }

        @Override
        public void write(ByteWriter out) {
            out.writeByte(TAG);
            out.writeVarLong(n);
        }

        static Acc read(ByteReader in) {
            return new Acc(in.readVarLong());
        }
    }

    @Override
    public String name() {
        return "count";
    }

    @Override
    public ValueType valueType() {
        return ValueType.LONG;
    }

    @Override
    public Acc init() {
        return new Acc(0);
    }

    @Override
    public Acc add(Acc acc, double value, long ts) {
        acc.n++;
        return acc;
    }

    @Override
    public Acc merge(Acc into, Acc other) {
        into.n += other.n;
        return into;
    }

    @Override
    public Object result(Acc acc) {
        return acc.n;
    }

    @Override
    public Object resultOfMerge(Acc prefix, Acc newest) {
        return prefix.n + newest.n;
    }
}
