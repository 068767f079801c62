package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.skewless.flink.EntityStateSerializer;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The state format's primitives read back exactly what was written; its version is checked. */
class ByteCodecTest {
    @Test
    void varLongsAndDoublesRoundTrip() {
        Random random = new Random(11);
        long[] longs = new long[1000];
        double[] doubles = new double[1000];
        ByteWriter out = new ByteWriter(1);
        for (int i = 0; i < longs.length; i++) {
            longs[i] = i < 10 ? i : random.nextLong() >>> random.nextInt(64);
            doubles[i] = i == 0 ? Double.NaN : random.nextGaussian() * Math.pow(10, random.nextInt(40) - 20);
            out.writeVarLong(longs[i]);
            out.writeDouble(doubles[i]);
        }
        ByteReader in = new ByteReader(out.toByteArray());
        for (int i = 0; i < longs.length; i++) {
            assertEquals(longs[i], in.readVarLong());
            assertEquals(Double.doubleToRawLongBits(doubles[i]), Double.doubleToRawLongBits(in.readDouble()));
        }
    }

    private static final long T0 = 1_700_000_000_000L;

    /** One entity's state after a few events into every given operation (hop 1 s, 10 tiles). */
    private static EntityState stateOf(TileEngine engine, int events) {
        EntityState state = engine.newState();
        Random random = new Random(5);
        double[] inputs = new double[engine.featureCount()];
        for (int i = 0; i < events; i++) {
            for (int f = 0; f < inputs.length; f++) {
                inputs[f] = random.nextGaussian() * 100;
            }
            engine.onEvent(state, T0 + i * 300L, inputs, T0 + i * 300L - 1);
        }
        return state;
    }

    private static TileEngine engine(String... ops) {
        long[] hops = new long[ops.length];
        int[] tiles = new int[ops.length];
        String[] params = new String[ops.length];
        for (int i = 0; i < ops.length; i++) {
            hops[i] = 1000;
            tiles[i] = 10;
            params[i] = ops[i].equals("approx_percentile") ? "q=0.9" : ops[i].equals("last_n") ? "n=3" : null;
        }
        return TileEngine.of(ops, hops, tiles, params, 0, TileEngine.NONE);
    }

    @Test
    void stateFormatIsVersionTwo() {
        byte[] bytes = stateOf(engine("count"), 3).encode();
        assertEquals(2, EntityState.FORMAT_VERSION);
        assertEquals(EntityState.FORMAT_VERSION, bytes[0]);
    }

    @Test
    void sketchStateRoundTripsThroughTheFlinkSerializer() throws Exception {
        TileEngine engine = engine("approx_count_distinct", "approx_percentile", "count", "last_n");
        EntityState state = stateOf(engine, 40);
        byte[] bytes = state.encode();
        DataOutputSerializer out = new DataOutputSerializer(64);
        EntityStateSerializer.INSTANCE.serialize(state, out);
        EntityState back = EntityStateSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertArrayEquals(bytes, back.encode());
        assertArrayEquals(bytes, EntityStateSerializer.INSTANCE.copy(state).encode());
        // The restored state goes on like the original: same updates for the same next events.
        EntityState original = EntityState.decode(bytes);
        double[] inputs = {1.5, 2.5, 3.5, 4.5};
        for (int i = 0; i < 20; i++) {
            long t = T0 + 40 * 300L + i * 700L;
            List<Update> a = engine.onEvent(original, t, inputs, t - 1);
            List<Update> b = engine.onEvent(back, t, inputs, t - 1);
            assertEquals(a.size(), b.size());
            assertFalse(a.isEmpty(), "each event gives an update");
            for (int u = 0; u < a.size(); u++) {
                assertEquals(a.get(u).validFrom, b.get(u).validFrom);
                assertEquals(java.util.Arrays.asList(a.get(u).values), java.util.Arrays.asList(b.get(u).values));
            }
        }
    }

    /** An operation whose tiles write the accumulator tag (and an empty body) of format 1's sketches. */
    private static final class LegacyTagged implements Aggregation<Accumulator> {
        private final int tag;

        LegacyTagged(int tag) {
            this.tag = tag;
        }

        @Override
        public String name() {
            return "legacy";
        }

        @Override
        public ValueType valueType() {
            return ValueType.LONG;
        }

        @Override
        public Accumulator init() {
            return new Accumulator() {
                @Override
                public Accumulator copy() {
                    return this;
                }

                @Override
                public void write(ByteWriter out) {
                    out.writeByte(tag);
                    out.writeVarInt(0); // format 1: empty sparse HLL (size 0) / a DDSketch of no bucket
                }
            };
        }

        @Override
        public Accumulator add(Accumulator acc, double value, long ts) {
            return acc;
        }

        @Override
        public Accumulator merge(Accumulator into, Accumulator other) {
            return into;
        }

        @Override
        public Object result(Accumulator acc) {
            return 0L;
        }
    }

    private static byte[] asFormatOne(byte[] bytes) {
        byte[] old = bytes.clone();
        old[0] = (byte) EntityState.LEGACY_FORMAT_VERSION;
        return old;
    }

    @Test
    void formatOneSketchStateFailsWithOneClearException() {
        for (int tag : new int[] {ApproxCountDistinct.LEGACY_SPARSE_TAG, ApproxCountDistinct.LEGACY_DENSE_TAG,
                ApproxPercentile.LEGACY_TAG}) {
            TileEngine engine = new TileEngine(List.of(new Count(), new LegacyTagged(tag)), new long[] {1000, 1000},
                    new int[] {10, 10}, 0, TileEngine.NONE);
            byte[] old = asFormatOne(stateOf(engine, 3).encode());
            LegacySketchStateException e = assertThrows(LegacySketchStateException.class, () -> EntityState.decode(old));
            assertTrue(e.getMessage().contains("restart the view from a fresh lineage"), e.getMessage());
            assertTrue(e.getMessage().contains(tag == ApproxPercentile.LEGACY_TAG ? "approx_percentile" : "approx_count_distinct"));
            // Through Flink's state serializer (a restore) it is the same exception.
            DataOutputSerializer out = new DataOutputSerializer(64);
            assertThrows(LegacySketchStateException.class, () -> {
                out.writeInt(old.length);
                out.write(old);
                EntityStateSerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
            });
        }
    }

    @Test
    void formatOneStateWithoutSketchesStillRestores() {
        EntityState state = stateOf(engine("count", "sum", "last_n", "count_distinct"), 12);
        byte[] bytes = state.encode();
        EntityState restored = EntityState.decode(asFormatOne(bytes));
        assertArrayEquals(bytes, restored.encode(), "re-encoded as format 2, otherwise the same");
    }

    @Test
    void otherVersionsAreRefused() {
        byte[] bytes = stateOf(engine("count"), 2).encode();
        for (int version : new int[] {0, 3, 99}) {
            byte[] other = bytes.clone();
            other[0] = (byte) version;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EntityState.decode(other));
            assertFalse(e instanceof LegacySketchStateException);
            assertTrue(e.getMessage().contains("engine state format " + version + " is not supported"), e.getMessage());
        }
    }
}
