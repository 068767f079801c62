package io.skewless.flink;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/** {@link EventDecoder}: Avro's reader, resolution to the newest schema, and every refusal's code. */
class EventDecoderTest {
    static final long TS = 1_700_000_000_000L;

    /** The oldest writer: count is an int and ratio a float, legacy is dropped later, no channel yet. */
    static final String V1 = """
            {"type": "record", "name": "Evt", "namespace": "io.skewless.test", "fields": [
              {"name": "id", "type": "string"},
              {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
              {"name": "count", "type": "int"},
              {"name": "ratio", "type": "float"},
              {"name": "legacy", "type": "string"},
              {"name": "flag", "type": "boolean"},
              {"name": "nulls", "type": {"type": "array", "items": "null"}}
            ]}""";
    /** The newest: count long, ratio double, legacy removed, channel added with a default. */
    static final String V2 = """
            {"type": "record", "name": "Evt", "namespace": "io.skewless.test", "fields": [
              {"name": "id", "type": "string"},
              {"name": "ts", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null},
              {"name": "count", "type": "long"},
              {"name": "ratio", "type": "double"},
              {"name": "flag", "type": ["null", "boolean"], "default": null},
              {"name": "channel", "type": "string", "default": "web"},
              {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []}
            ]}""";
    static final String[] NAMES = {"id", "ts", "count", "ratio", "flag", "channel"};
    static final String[] TYPES = {"STRING", "LONG", "LONG", "DOUBLE", "BOOLEAN", "STRING"};

    static final Schema OLD = new Schema.Parser().parse(V1);
    static final Schema NEW = new Schema.Parser().parse(V2);

    private final EventDecoder decoder = new EventDecoder(new String[] {V1, V2}, NAMES, TYPES, "ts");

    static byte[] encode(Schema schema, Map<String, Object> values) {
        GenericRecord record = new GenericData.Record(schema);
        values.forEach(record::put);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(header(schema));
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        try {
            new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    static byte[] header(Schema schema) {
        long fingerprint = EventDecoder.wireFingerprint(schema);
        byte[] header = {(byte) 0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < 8; i++) {
            header[2 + i] = (byte) (fingerprint >>> (8 * i));
        }
        return header;
    }

    static Map<String, Object> newRecord(Long ts, double ratio) {
        Map<String, Object> record = new HashMap<>(Map.of("id", "e1", "count", 7L, "ratio", ratio, "flag", true,
                "channel", "app", "tags", List.of("x")));
        record.put("ts", ts); // may be null
        return record;
    }

    static Map<String, Object> oldRecord(long ts) {
        return Map.of("id", "e0", "ts", ts, "count", 3, "ratio", 0.1f, "legacy", "gone", "flag", false,
                "nulls", List.of());
    }

    /** The reason of the refused record, after checking that its dead letter's code is {@code code}. */
    String refusal(byte[] data, String code) {
        EventDecoder.DecodeException e = assertThrows(EventDecoder.DecodeException.class, () -> decoder.decode(data));
        assertEquals(code, DeadLetters.topicCode(e.getMessage(), "decode"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aRecordOfTheNewestSchemaBecomesItsRow() throws Exception {
        Object[] row = decoder.decode(encode(NEW, newRecord(TS, 2.5)));
        assertArrayEquals(new Object[] {"e1", TS, 7L, 2.5, true, "app"}, row);
    }

    @Test
    void anOlderRecordIsResolvedToTheNewestSchema() throws Exception {
        // int -> long, float -> double, the removed field skipped, the added one its default, a
        // plain boolean read into [null, boolean].
        Object[] row = decoder.decode(encode(OLD, oldRecord(TS)));
        assertArrayEquals(new Object[] {"e0", TS, 3L, (double) 0.1f, false, "web"}, row);
        assertEquals(Long.class, row[2].getClass());
        assertEquals(Double.class, row[3].getClass());
    }

    @Test
    void decodingReusesItsStateWithoutLeakingValuesBetweenRecords() throws Exception {
        Object[] first = decoder.decode(encode(NEW, newRecord(TS, 1.0)));
        Object[] second = decoder.decode(encode(OLD, oldRecord(TS + 1)));
        Object[] third = decoder.decode(encode(NEW, newRecord(TS + 2, 3.0)));
        assertEquals("app", first[5]);
        assertEquals("web", second[5]);
        assertArrayEquals(new Object[] {"e1", TS + 2, 7L, 3.0, true, "app"}, third);
    }

    @Test
    void truncatedBodiesAreCorruptAtEveryLength() {
        byte[] good = encode(NEW, newRecord(TS, 2.5));
        for (int length = 10; length < good.length; length++) {
            String reason = refusal(Arrays.copyOf(good, length), "corrupt_avro");
            assertTrue(reason.startsWith(EventDecoder.CORRUPT + "EOFException"), reason);
        }
    }

    @Test
    void trailingBytesAreCountedAndRefused() {
        byte[] good = encode(NEW, newRecord(TS, 2.5));
        byte[] longer = Arrays.copyOf(good, good.length + 3);
        assertEquals("3 trailing bytes after the Avro body", refusal(longer, "trailing_bytes"));
    }

    @Test
    void corruptBodiesCarryAvrosExceptionAndNeverExhaustMemoryOrTime() {
        byte[] head = header(NEW);
        // id's length as a negative varint, then as 2^40 bytes (no allocation of that much)
        String negative = refusal(concat(head, new byte[] {0x01, 'a'}), "corrupt_avro");
        assertTrue(negative.contains("Malformed data. Length is negative"), negative);
        refusal(concat(head, new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20}),
                "corrupt_avro");
        // ts's union index 5 of a two-branch union
        refusal(concat(head, new byte[] {0x02, 'a', 0x0a}), "corrupt_avro");
        // A varint longer than 10 bytes
        byte[] endless = new byte[14];
        Arrays.fill(endless, (byte) 0xff);
        endless[0] = 0x02;
        endless[1] = 'a';
        refusal(concat(head, endless), "corrupt_avro");
        // An old record claiming 2^31 - 10 zero-byte items in a skipped field: refused, not looped over
        byte[] old = encode(OLD, oldRecord(TS));
        byte[] huge = concat(Arrays.copyOf(old, old.length - 1), concat(varint(Integer.MAX_VALUE - 9), varint(0)));
        String many = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> refusal(huge, "corrupt_avro"));
        assertTrue(many.startsWith(EventDecoder.CORRUPT + "SystemLimitException: "), many);
    }

    @Test
    void unknownFingerprintsAreNamedAsTheNumber() {
        byte[] data = encode(NEW, newRecord(TS, 2.5));
        data[2] ^= 1;
        long fingerprint = EventDecoder.wireFingerprint(NEW) ^ 1;
        assertEquals(String.format("unknown writer schema fingerprint %016x", fingerprint),
                refusal(data, "unknown_schema"));
    }

    @Test
    void bytesThatAreNotSingleObjectEncodedAreRefused() {
        byte[] good = encode(NEW, newRecord(TS, 2.5));
        assertEquals("empty record value", refusal(new byte[0], "empty_value"));
        assertEquals("empty record value", refusal(null, "empty_value"));
        refusal(Arrays.copyOf(good, 9), "not_avro");
        byte[] marker = good.clone();
        marker[1] = 0x02;
        assertEquals("not Avro single-object encoding: missing the C3 01 marker", refusal(marker, "not_avro"));
    }

    @Test
    void eventTimesMustBePresentAndPlausible() {
        assertEquals("missing event time 'ts'", refusal(encode(NEW, newRecord(null, 1.0)), "missing_event_time"));
        String seconds = refusal(encode(NEW, newRecord(TS / 1000, 1.0)), "absurd_event_time");
        assertEquals("absurd event time ts=1700000000: expected epoch milliseconds between 2000 and 2100", seconds);
        refusal(encode(NEW, newRecord(EventDecoder.MAX_EVENT_TIME_MS, 1.0)), "absurd_event_time");
    }

    @Test
    void nonFiniteNumbersAreRefusedByField() {
        assertEquals("field 'ratio' is NaN, not a finite number", refusal(encode(NEW, newRecord(TS, Double.NaN)), "bad_field"));
        refusal(encode(NEW, newRecord(TS, Double.NEGATIVE_INFINITY)), "bad_field");
    }

    @Test
    void aWriterThatCannotBeResolvedIsRefusedAtBuildTimeNamingTheField() {
        String noDefault = V2.replace("\"default\": \"web\"", "\"doc\": \"no default\"");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EventDecoder(new String[] {V1, noDefault}, NAMES, TYPES, "ts"));
        assertTrue(e.getMessage().startsWith("writer schema #0 cannot be resolved to the newest schema: "), e.getMessage());
        assertTrue(e.getMessage().contains("READER_FIELD_MISSING_DEFAULT_VALUE at channel: "),
                e.getMessage());
        String narrowed = V2.replace("\"name\": \"count\", \"type\": \"long\"", "\"name\": \"count\", \"type\": \"string\"");
        String[] types = TYPES.clone();
        types[2] = "STRING";
        e = assertThrows(IllegalArgumentException.class, () -> new EventDecoder(new String[] {V1, narrowed}, NAMES, types, "ts"));
        assertTrue(e.getMessage().contains("TYPE_MISMATCH at count: "), e.getMessage());
    }

    @Test
    void badBuildInputIsNamed() {
        Map<String, Runnable> cases = Map.of(
                "at least one writer schema", () -> new EventDecoder(new String[0], NAMES, TYPES, "ts"),
                "not a valid Avro schema", () -> new EventDecoder(new String[] {"{"}, NAMES, TYPES, "ts"),
                "must be a record", () -> new EventDecoder(new String[] {"\"string\""}, NAMES, TYPES, "ts"),
                "type must be one of", () -> new EventDecoder(new String[] {V2}, new String[] {"ts"}, new String[] {"INT"}, "ts"),
                "names must be unique", () -> new EventDecoder(new String[] {V2}, new String[] {"ts", "ts"},
                        new String[] {"LONG", "LONG"}, "ts"),
                "must be a LONG column", () -> new EventDecoder(new String[] {V2}, NAMES, TYPES, "id"),
                "is not a field of the newest schema", () -> new EventDecoder(new String[] {V1, V2},
                        new String[] {"ts", "legacy"}, new String[] {"LONG", "STRING"}, "ts"),
                "column cannot carry its Avro type", () -> new EventDecoder(new String[] {V2},
                        new String[] {"ts", "tags"}, new String[] {"LONG", "STRING"}, "ts"));
        cases.forEach((needle, build) -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::run, needle);
            assertTrue(e.getMessage().contains(needle), needle + " not in: " + e.getMessage());
        });
    }

    /** Avro's zig-zag varint of n. */
    static byte[] varint(long n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (long z = (n << 1) ^ (n >> 63); ; z >>>= 7) {
            if ((z & ~0x7fL) == 0) {
                out.write((int) z);
                return out.toByteArray();
            }
            out.write((int) (z & 0x7f) | 0x80);
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
