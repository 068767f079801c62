package io.skewless.engine;

/** Reads what {@link ByteWriter} wrote; a truncated or corrupt buffer fails with a clear message. */
public final class ByteReader {
    private final byte[] buf;
    private int pos;

    public ByteReader(byte[] buf) {
        this.buf = buf;
    }

    private void need(int n) {
        if (pos + n > buf.length) {
            throw new IllegalArgumentException("corrupt engine state: truncated at byte " + pos + " of " + buf.length);
        }
    }

    public int readByte() {
        need(1);
        return buf[pos++];
    }

    public byte[] readBytes(int n) {
        need(n);
        byte[] out = new byte[n];
        System.arraycopy(buf, pos, out, 0, n);
        pos += n;
        return out;
    }

    public boolean readBoolean() {
        return readByte() != 0;
    }

    public long readVarLong() {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = readByte();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IllegalArgumentException("corrupt engine state: varint too long at byte " + pos);
    }

    public int readVarInt() {
        long v = readVarLong();
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("corrupt engine state: bad size " + v + " at byte " + pos);
        }
        return (int) v;
    }

    public long readSignedVarLong() {
        long v = readVarLong();
        return (v >>> 1) ^ -(v & 1);
    }

    public long readLong() {
        need(8);
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v |= (buf[pos++] & 0xFFL) << (8 * i);
        }
        return v;
    }

    public double readDouble() {
        return Double.longBitsToDouble(readLong());
    }

    public boolean atEnd() {
        return pos == buf.length;
    }
}
