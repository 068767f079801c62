package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The state format's primitives read back exactly what was written. */
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
}
