package io.skewless.engine;

import java.util.Arrays;

/** A growable byte buffer with the few primitives the state format needs (varints, raw doubles). */
public final class ByteWriter {
    private byte[] buf;
    private int size;

    public ByteWriter(int capacity) {
        buf = new byte[Math.max(16, capacity)];
    }

    private void ensure(int extra) {
        if (size + extra > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + extra));
        }
    }

    public void writeByte(int b) {
        ensure(1);
        buf[size++] = (byte) b;
    }

    public void writeBytes(byte[] bytes) {
        ensure(bytes.length);
        System.arraycopy(bytes, 0, buf, size, bytes.length);
        size += bytes.length;
    }

    public void writeBoolean(boolean b) {
        writeByte(b ? 1 : 0);
    }

    /** Unsigned LEB128: small non-negative numbers (sizes, counts) take one byte. */
    public void writeVarLong(long v) {
        ensure(10);
        while ((v & ~0x7FL) != 0) {
            buf[size++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        buf[size++] = (byte) v;
    }

    public void writeVarInt(int v) {
        writeVarLong(v & 0xFFFFFFFFL);
    }

    /** Zigzag then LEB128: small signed numbers (deltas, tile keys) stay short. */
    public void writeSignedVarLong(long v) {
        writeVarLong((v << 1) ^ (v >> 63));
    }

    public void writeLong(long v) {
        ensure(8);
        for (int i = 0; i < 8; i++) {
            buf[size++] = (byte) (v >>> (8 * i));
        }
    }

    /** Raw IEEE-754 bits, so every double (including -0.0) comes back bit for bit. */
    public void writeDouble(double v) {
        writeLong(Double.doubleToRawLongBits(v));
    }

    public byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }
}
