package io.skewless.flink;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

/**
 * Avro single-object bytes -> the column values of a decoded row, read by Apache Avro's own
 * {@link GenericDatumReader}: strict Avro, with Avro's schema resolution from the record's writer
 * schema to the newest one.
 *
 * <p>Wire format: marker C3 01, the writer schema's 8-byte CRC-64-AVRO fingerprint of its parsing
 * canonical form (little-endian, as the specification and Avro's BinaryMessageEncoder write it;
 * reasons show it as the 64-bit number in hex), the binary body.
 *
 * <p>Every writer schema is resolved to the row schema: the newest (last) schema cut down to the
 * row's columns, so a writer field the row does not carry is skipped, not built. Each writer gets
 * its resolving reader once, here, and is refused here when Avro cannot resolve it. Logical types
 * are ignored: timestamp-millis is the long on the wire. Not thread-safe (one per operator
 * instance): it reuses its decoder and record.
 *
 * <p>A record that cannot become a row raises {@link DecodeException}; the reason's start gives its
 * dead letter's code ({@link DeadLetters#topicCode}).
 */
public final class EventDecoder {
    public static final long MIN_EVENT_TIME_MS = 946_684_800_000L; // 2000-01-01
    public static final long MAX_EVENT_TIME_MS = 4_102_444_800_000L; // 2100-01-01
    /** The reason prefix of bodies Avro cannot read; Avro's exception class and message follow. */
    public static final String CORRUPT = "corrupt or truncated Avro body: ";
    static final Set<String> COLUMN_TYPES = Set.of("STRING", "LONG", "DOUBLE", "BOOLEAN");
    /** How much of Avro's exception message a reason quotes. */
    static final int MAX_CAUSE_CHARS = 200;
    private static final int HEADER = 10;

    /** A record that cannot become a row; the reason is the dead letter's skewless.reason. */
    public static final class DecodeException extends Exception {
        private static final long serialVersionUID = 1L;

        DecodeException(String reason) {
            super(reason, null, false, false); // no stack trace: a bad record is data, not a bug
        }
    }

    private final Map<Long, GenericDatumReader<GenericRecord>> readers = new HashMap<>();
    private final String[] fieldNames;
    private final String[] fieldTypes;
    private final String timeField;
    private final int timeColumn;
    private BinaryDecoder decoder;
    private GenericRecord reused;

    /**
     * @param schemaTexts the writer schemas (.avsc JSON, records), oldest first; the last is the
     *     newest, to which the others are resolved
     * @param fieldNames the row's columns (jobs.rows.record_fields), fields of the newest schema
     * @param fieldTypes their types: STRING, LONG, DOUBLE or BOOLEAN
     * @param timeField the event-time column (LONG), checked on every record
     * @throws IllegalArgumentException naming the input that is wrong
     */
    public EventDecoder(String[] schemaTexts, String[] fieldNames, String[] fieldTypes, String timeField) {
        if (schemaTexts == null || schemaTexts.length == 0) {
            throw new IllegalArgumentException("at least one writer schema (.avsc text) is required");
        }
        if (fieldNames == null || fieldTypes == null || fieldNames.length != fieldTypes.length) {
            throw new IllegalArgumentException("fieldNames and fieldTypes must be given with one type per name, got "
                    + length(fieldNames) + " names and " + length(fieldTypes) + " types");
        }
        if (timeField == null || timeField.isBlank()) {
            throw new IllegalArgumentException("timeField (the event-time field) is required");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < fieldNames.length; i++) {
            if (fieldNames[i] == null || !seen.add(fieldNames[i])) {
                throw new IllegalArgumentException("field #" + i + ": names must be unique and non-null, got "
                        + fieldNames[i]);
            }
            if (!COLUMN_TYPES.contains(fieldTypes[i])) {
                throw new IllegalArgumentException("field " + fieldNames[i] + ": type must be one of "
                        + "STRING, LONG, DOUBLE, BOOLEAN, got " + fieldTypes[i]);
            }
        }
        this.fieldNames = fieldNames.clone();
        this.fieldTypes = fieldTypes.clone();
        this.timeField = timeField;
        this.timeColumn = List.of(fieldNames).indexOf(timeField);
        if (timeColumn < 0 || !"LONG".equals(fieldTypes[timeColumn])) {
            throw new IllegalArgumentException("timeField " + timeField + " must be a LONG column of the row");
        }
        Schema[] writers = new Schema[schemaTexts.length];
        for (int i = 0; i < writers.length; i++) {
            writers[i] = parse(i, schemaTexts[i]);
        }
        Schema rowSchema = RowSchema.of(writers[writers.length - 1], this.fieldNames, this.fieldTypes);
        GenericData plain = new GenericData(); // no logical-type conversions: epoch ms stay longs
        for (int i = 0; i < writers.length; i++) {
            requireResolvable(i, writers[i], rowSchema);
            readers.put(wireFingerprint(writers[i]), new GenericDatumReader<>(writers[i], rowSchema, plain));
        }
    }

    /** The number {@link #decode} reads from the 8 little-endian bytes after the marker. */
    static long wireFingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private static Schema parse(int i, String text) {
        Schema schema;
        try {
            schema = new Schema.Parser().parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("writer schema #" + i + " is not a valid Avro schema: " + e.getMessage(), e);
        }
        if (schema.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException("writer schema #" + i + " must be a record, got " + schema.getType());
        }
        return schema;
    }

    /** Refuse at build time a writer whose records Avro would fail to resolve one by one. */
    private static void requireResolvable(int i, Schema writer, Schema rowSchema) {
        SchemaCompatibility.SchemaCompatibilityResult result =
                SchemaCompatibility.checkReaderWriterCompatibility(rowSchema, writer).getResult();
        if (result.getCompatibility() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            SchemaCompatibility.Incompatibility first = result.getIncompatibilities().get(0);
            throw new IllegalArgumentException("writer schema #" + i + " cannot be resolved to the newest schema: "
                    + first.getType() + " at " + RowSchema.fieldPath(rowSchema, first.getLocation()) + ": "
                    + first.getMessage());
        }
    }

    public int columnCount() {
        return fieldNames.length;
    }

    public String[] fieldNames() {
        return fieldNames.clone();
    }

    public String[] fieldTypes() {
        return fieldTypes.clone();
    }

    /** The row's column values (String, Long, Double, Boolean or null), or the reason it has none. */
    public Object[] decode(byte[] data) throws DecodeException {
        if (data == null || data.length == 0) {
            throw new DecodeException("empty record value");
        }
        if (data.length < HEADER || data[0] != (byte) 0xC3 || data[1] != 0x01) {
            throw new DecodeException("not Avro single-object encoding: missing the C3 01 marker");
        }
        long fingerprint = 0;
        for (int i = 0; i < 8; i++) {
            fingerprint |= (long) (data[2 + i] & 0xff) << (8 * i);
        }
        GenericDatumReader<GenericRecord> reader = readers.get(fingerprint);
        if (reader == null) {
            throw new DecodeException(String.format("unknown writer schema fingerprint %016x", fingerprint));
        }
        decoder = DecoderFactory.get().binaryDecoder(data, HEADER, data.length - HEADER, decoder);
        int trailing;
        try {
            reused = reader.read(reused, decoder);
            trailing = decoder.isEnd() ? 0 : decoder.inputStream().available();
        } catch (IOException | RuntimeException e) { // Avro signals bad data with many exception types
            throw new DecodeException(CORRUPT + describe(e));
        }
        if (trailing != 0) {
            throw new DecodeException(trailing + " trailing bytes after the Avro body");
        }
        return columns(reused);
    }

    /** The record's values in column order (the row schema's field order), checked. */
    private Object[] columns(GenericRecord record) throws DecodeException {
        Object[] columns = new Object[fieldNames.length];
        for (int c = 0; c < columns.length; c++) {
            Object v = record.get(c);
            columns[c] = switch (fieldTypes[c]) {
                case "STRING" -> v == null ? null : v.toString(); // Avro's Utf8
                case "LONG" -> v == null ? null : ((Number) v).longValue(); // int or long
                case "DOUBLE" -> v == null ? null : finite(c, ((Number) v).doubleValue()); // float or double
                default -> v;
            };
        }
        Object time = columns[timeColumn];
        if (time == null) {
            throw new DecodeException("missing event time '" + timeField + "'");
        }
        long ms = (Long) time;
        if (ms < MIN_EVENT_TIME_MS || ms >= MAX_EVENT_TIME_MS) {
            throw new DecodeException("absurd event time " + timeField + "=" + ms
                    + ": expected epoch milliseconds between 2000 and 2100");
        }
        return columns;
    }

    private Double finite(int column, double value) throws DecodeException {
        if (!Double.isFinite(value)) {
            throw new DecodeException("field '" + fieldNames[column] + "' is " + value + ", not a finite number");
        }
        return value;
    }

    /** Avro's exception as a reason's tail: its class and its message, trimmed. */
    static String describe(Exception e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getSimpleName();
        }
        message = message.strip().replaceAll("\\s+", " ");
        if (message.length() > MAX_CAUSE_CHARS) {
            message = message.substring(0, MAX_CAUSE_CHARS) + "...";
        }
        return e.getClass().getSimpleName() + ": " + message;
    }

    private static String length(String[] array) {
        return array == null ? "no" : String.valueOf(array.length);
    }
}
