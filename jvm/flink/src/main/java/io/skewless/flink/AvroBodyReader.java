package io.skewless.flink;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * Reads an Avro binary body into Python-like values, accepting exactly what the Python decoder
 * (fastavro's schemaless_reader, Cython build) accepts, so that both dead-letter the same records.
 *
 * <p>Values: null, Boolean, Long (int and long), Double (float widened, double), String (string and
 * enum symbol), byte[] (bytes, fixed), List (array), LinkedHashMap (map, nested record). fastavro's
 * leniencies, kept on purpose: varints of any length (bits past 64 wrap as on x86), any non-zero
 * boolean byte is true, union and enum indexes count from the end when negative (Python indexing),
 * ints are not range-checked. Its strictness too: strings must be valid UTF-8.
 *
 * <p>One instance per decoding thread: it keeps the position and a UTF-8 decoder.
 */
final class AvroBodyReader {
    /** Zero-byte items (nulls, empty records) a body may hold: Python would build any number, slowly. */
    static final long MAX_EMPTY_ITEMS = 10_000_000L;
    /** Nesting of recursive schemas; Python stops at its recursion limit. */
    static final int MAX_DEPTH = 400;

    /** A body that fastavro could not read either; the message says where. */
    static final class BodyException extends Exception {
        private static final long serialVersionUID = 1L;

        BodyException(String message) {
            super(message, null, false, false); // no stack trace: a bad record is data, not a bug
        }
    }

    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder(); // reports malformed input
    private final Map<Schema, Boolean> empty = new IdentityHashMap<>();
    private byte[] buf;
    private int pos;
    private int end;
    private int depth;
    private long emptyItems;

    /** Start reading {@code buf[from, to)}. */
    void reset(byte[] buf, int from, int to) {
        this.buf = buf;
        this.pos = from;
        this.end = to;
        this.depth = 0;
        this.emptyItems = 0;
    }

    int position() {
        return pos;
    }

    /** A top-level record: its field values in the schema's field order. */
    Object[] readFields(Schema record) throws BodyException {
        List<Schema.Field> fields = record.getFields();
        Object[] values = new Object[fields.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = read(fields.get(i).schema());
        }
        return values;
    }

    Object read(Schema schema) throws BodyException {
        switch (schema.getType()) {
            case NULL:
                return null;
            case BOOLEAN:
                need(1, "a boolean");
                return buf[pos++] != 0;
            case INT:
            case LONG:
                return readLong();
            case FLOAT:
                need(4, "a float");
                float f = Float.intBitsToFloat((int) littleEndian(4));
                return (double) f;
            case DOUBLE:
                need(8, "a double");
                return Double.longBitsToDouble(littleEndian(8));
            case STRING:
                return readString();
            case BYTES:
                return readBytes(readLong(), "bytes");
            case FIXED:
                return readBytes(schema.getFixedSize(), "a fixed(" + schema.getFixedSize() + ")");
            case ENUM:
                List<String> symbols = schema.getEnumSymbols();
                return symbols.get(pythonIndex(readLong(), symbols.size(), "enum " + schema.getFullName()));
            case UNION:
                List<Schema> branches = schema.getTypes();
                return read(branches.get(pythonIndex(readLong(), branches.size(), "union")));
            case ARRAY:
                return readArray(schema.getElementType());
            case MAP:
                return readMap(schema.getValueType());
            case RECORD:
                return readRecord(schema);
            default:
                throw new BodyException("unsupported Avro type " + schema.getType());
        }
    }

    private Object readRecord(Schema schema) throws BodyException {
        if (++depth > MAX_DEPTH) {
            throw new BodyException("records nested deeper than " + MAX_DEPTH);
        }
        Map<String, Object> record = new LinkedHashMap<>();
        for (Schema.Field field : schema.getFields()) {
            record.put(field.name(), read(field.schema()));
        }
        depth--;
        return record;
    }

    private List<Object> readArray(Schema items) throws BodyException {
        List<Object> out = new ArrayList<>();
        for (long count = blockCount(items, false); count != 0; count = blockCount(items, false)) {
            for (long i = 0; i < count; i++) {
                out.add(read(items));
            }
        }
        return out;
    }

    private Map<String, Object> readMap(Schema values) throws BodyException {
        Map<String, Object> out = new LinkedHashMap<>(); // a repeated key keeps its place, takes the last value
        for (long count = blockCount(values, true); count != 0; count = blockCount(values, true)) {
            for (long i = 0; i < count; i++) {
                String key = readString();
                out.put(key, read(values));
            }
        }
        return out;
    }

    /**
     * The item count of the next non-empty block, 0 at the end; a negative count is followed by a
     * byte size, read and ignored as fastavro does (Long.MIN_VALUE negates to itself there, so that
     * block holds no items and the next count follows).
     */
    private long blockCount(Schema items, boolean keyed) throws BodyException {
        long count = readLong();
        while (count < 0) {
            readLong();
            if (count != Long.MIN_VALUE) {
                count = -count;
                break;
            }
            count = readLong();
        }
        if (count == 0) {
            return 0;
        }
        if (keyed || !isEmpty(items)) {
            if (count > end - pos) { // every item takes a byte at least: Python would run out too
                throw new BodyException("a block of " + count + " items at byte " + pos + " but only " + (end - pos)
                        + " bytes left");
            }
        } else if ((emptyItems += count) > MAX_EMPTY_ITEMS) {
            throw new BodyException("more than " + MAX_EMPTY_ITEMS + " zero-byte items");
        }
        return count;
    }

    /** Whether values of this schema take no bytes (null, fixed(0), records of such). */
    private boolean isEmpty(Schema schema) {
        Boolean known = empty.get(schema);
        if (known != null) {
            return known;
        }
        empty.put(schema, false); // a record that contains itself takes bytes (or cannot be written)
        boolean result = switch (schema.getType()) {
            case NULL -> true;
            case FIXED -> schema.getFixedSize() == 0;
            case RECORD -> schema.getFields().stream().allMatch(f -> isEmpty(f.schema()));
            default -> false;
        };
        empty.put(schema, result);
        return result;
    }

    /** fastavro's zig-zag varint: unbounded length, bits shifted past 64 wrap (x86 shift masking). */
    long readLong() throws BodyException {
        need(1, "a long");
        int b = buf[pos++] & 0xff;
        long n = b & 0x7f;
        int shift = 7;
        while ((b & 0x80) != 0) {
            need(1, "a long");
            b = buf[pos++] & 0xff;
            n |= (long) (b & 0x7f) << shift; // Java masks the shift to 6 bits, as the x86 instruction does
            shift += 7;
        }
        return (n >>> 1) ^ -(n & 1);
    }

    private String readString() throws BodyException {
        long size = readLong();
        checkSize(size, "a string");
        int from = pos;
        pos += (int) size;
        boolean ascii = true;
        for (int i = from; i < pos && ascii; i++) {
            ascii = buf[i] >= 0;
        }
        if (ascii) {
            return new String(buf, from, (int) size, StandardCharsets.ISO_8859_1);
        }
        try {
            return utf8.reset().decode(ByteBuffer.wrap(buf, from, (int) size)).toString();
        } catch (CharacterCodingException e) {
            throw new BodyException("a string at byte " + from + " is not valid UTF-8");
        }
    }

    private byte[] readBytes(long size, String what) throws BodyException {
        checkSize(size, what);
        byte[] out = new byte[(int) size];
        System.arraycopy(buf, pos, out, 0, out.length);
        pos += out.length;
        return out;
    }

    private void checkSize(long size, String what) throws BodyException {
        if (size < 0 || size > end - pos) {
            throw new BodyException("expected " + size + " bytes of " + what + " at byte " + pos + ", "
                    + (end - pos) + " left");
        }
    }

    private static int pythonIndex(long index, int size, String what) throws BodyException {
        if (index < -size || index >= size) {
            throw new BodyException(what + " index " + index + " out of range for " + size + " entries");
        }
        return (int) (index < 0 ? index + size : index);
    }

    private long littleEndian(int bytes) {
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v |= (long) (buf[pos + i] & 0xff) << (8 * i);
        }
        pos += bytes;
        return v;
    }

    private void need(int bytes, String what) throws BodyException {
        if (end - pos < bytes) {
            throw new BodyException("the body ends at byte " + pos + " while reading " + what);
        }
    }
}
