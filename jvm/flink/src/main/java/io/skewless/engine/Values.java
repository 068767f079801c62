package io.skewless.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * The feature values at an instant: one Long, Double, null or List of Double per feature. Compared
 * the way Python compares tuples of them (floats by ==, so 0.0 equals -0.0).
 */
public final class Values {
    private static final int NULL = 0;
    private static final int LONG = 1;
    private static final int DOUBLE = 2;
    private static final int LIST = 3;

    private Values() {}

    /** Python's {@code a == b} for two value tuples, either possibly None (null). */
    public static boolean same(Object[] a, Object[] b) {
        if (a == null || b == null) {
            return a == b;
        }
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (!sameValue(a[i], b[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameValue(Object x, Object y) {
        if (x == null || y == null) {
            return x == y;
        }
        if (x instanceof Double dx && y instanceof Double dy) {
            return dx.doubleValue() == dy.doubleValue();
        }
        if (x instanceof List<?> lx && y instanceof List<?> ly) {
            if (lx.size() != ly.size()) {
                return false;
            }
            for (int i = 0; i < lx.size(); i++) {
                if (!sameValue(lx.get(i), ly.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return x.equals(y);
    }

    static void write(Object[] values, ByteWriter out) {
        if (values == null) {
            out.writeVarInt(0);
            return;
        }
        out.writeVarInt(values.length + 1);
        for (Object v : values) {
            if (v == null) {
                out.writeByte(NULL);
            } else if (v instanceof Long l) {
                out.writeByte(LONG);
                out.writeSignedVarLong(l);
            } else if (v instanceof Double d) {
                out.writeByte(DOUBLE);
                out.writeDouble(d);
            } else if (v instanceof List<?> list) {
                out.writeByte(LIST);
                out.writeVarInt(list.size());
                for (Object item : list) {
                    out.writeDouble((Double) item);
                }
            } else {
                throw new IllegalArgumentException("not a feature value: " + v.getClass().getName());
            }
        }
    }

    static Object[] read(ByteReader in) {
        int n = in.readVarInt();
        if (n == 0) {
            return null;
        }
        Object[] values = new Object[n - 1];
        for (int i = 0; i < values.length; i++) {
            int tag = in.readByte();
            switch (tag) {
                case NULL:
                    break;
                case LONG:
                    values[i] = in.readSignedVarLong();
                    break;
                case DOUBLE:
                    values[i] = in.readDouble();
                    break;
                case LIST:
                    int size = in.readVarInt();
                    List<Double> list = new ArrayList<>(size);
                    for (int k = 0; k < size; k++) {
                        list.add(in.readDouble());
                    }
                    values[i] = list;
                    break;
                default:
                    throw new IllegalArgumentException("corrupt engine state: unknown value tag " + tag);
            }
        }
        return values;
    }
}
