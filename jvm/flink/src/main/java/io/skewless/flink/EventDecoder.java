package io.skewless.flink;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import io.skewless.logic.PyValues;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Avro single-object bytes -> the column values of a decoded row, with the checks and reason texts
 * of the Python path (skewless.events.codec.EventCodec.decode, then udfs.decode._fits).
 *
 * <p>Wire format: marker C3 01, the writer schema's 8-byte CRC-64-AVRO fingerprint of its parsing
 * canonical form, the binary body. Logical types are ignored: timestamp-millis is the long on the
 * wire. Not thread-safe (one per operator instance).
 *
 * <p>The fingerprint is little-endian, as the Avro specification (and Java's BinaryMessageEncoder)
 * writes it; reasons show it as the 64-bit number in hex.
 */
public final class EventDecoder {
    public static final long MIN_EVENT_TIME_MS = 946_684_800_000L; // 2000-01-01
    public static final long MAX_EVENT_TIME_MS = 4_102_444_800_000L; // 2100-01-01
    /** The reason prefix of bodies that cannot be read; what follows it is not Python's text. */
    public static final String CORRUPT = "corrupt or truncated Avro body: ";
    static final Set<String> COLUMN_TYPES = Set.of("STRING", "LONG", "DOUBLE", "BOOLEAN");
    private static final int HEADER = 10;

    /** A record that cannot become a row; the reason is the dead letter's skewless.reason. */
    public static final class DecodeException extends Exception {
        private static final long serialVersionUID = 1L;

        DecodeException(String reason) {
            super(reason, null, false, false); // no stack trace: a bad record is data, not a bug
        }
    }

    /** One writer schema and where its fields land. */
    private record Writer(Schema schema, String[] names, int timeIndex, int[] columnSource) {}

    private final Map<Long, Writer> writers = new HashMap<>();
    private final String[] fieldNames;
    private final String[] fieldTypes;
    private final String timeField;
    private final AvroBodyReader reader = new AvroBodyReader();

    /**
     * @param schemaTexts the writer schemas (.avsc JSON, records), oldest first; a later schema with
     *     the same fingerprint replaces an earlier one
     * @param fieldNames the row's columns (udfs.decode.record_fields), in order
     * @param fieldTypes their types: STRING, LONG, DOUBLE or BOOLEAN
     * @param timeField the event-time field, checked on every record
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
        boolean timeKnown = false;
        for (int i = 0; i < schemaTexts.length; i++) {
            Writer writer = writer(i, schemaTexts[i]);
            writers.put(wireFingerprint(writer.schema), writer);
            timeKnown |= writer.timeIndex >= 0;
        }
        if (!timeKnown) {
            throw new IllegalArgumentException("timeField " + timeField + " is a field of no writer schema");
        }
    }

    /** The number {@link #decode} reads from the 8 little-endian bytes after the marker. */
    static long wireFingerprint(Schema schema) {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    private Writer writer(int i, String text) {
        Schema schema;
        try {
            // Defaults are never used (no schema resolution): do not reject a schema for them.
            schema = new Schema.Parser().setValidateDefaults(false).parse(text);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("writer schema #" + i + " is not a valid Avro schema: " + e.getMessage(), e);
        }
        if (schema.getType() != Schema.Type.RECORD) {
            throw new IllegalArgumentException("writer schema #" + i + " must be a record, got " + schema.getType());
        }
        List<Schema.Field> fields = schema.getFields();
        String[] names = new String[fields.size()];
        Map<String, Integer> position = new HashMap<>();
        for (int f = 0; f < names.length; f++) {
            names[f] = fields.get(f).name();
            position.put(names[f], f);
        }
        int[] source = new int[fieldNames.length];
        for (int c = 0; c < source.length; c++) {
            source[c] = position.getOrDefault(fieldNames[c], -1);
        }
        return new Writer(schema, names, position.getOrDefault(timeField, -1), source);
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
        Writer writer = writers.get(fingerprint);
        if (writer == null) {
            throw new DecodeException(String.format("unknown writer schema fingerprint %016x", fingerprint));
        }
        Object[] values;
        reader.reset(data, HEADER, data.length);
        try {
            values = reader.readFields(writer.schema);
        } catch (AvroBodyReader.BodyException e) {
            throw new DecodeException(CORRUPT + e.getMessage());
        }
        int trailing = data.length - reader.position();
        if (trailing != 0) {
            throw new DecodeException(trailing + " trailing bytes after the Avro body");
        }
        validate(writer, values);
        return columns(writer, values);
    }

    /** EventCodec.validate, whose key check the Python decode stage points at the event time too. */
    private void validate(Writer writer, Object[] values) throws DecodeException {
        Object time = writer.timeIndex < 0 ? null : values[writer.timeIndex];
        if (time == null || (time instanceof String s && PyValues.isBlank(s))) {
            throw new DecodeException("missing entity key " + PyValues.repr(timeField));
        }
        if (!(time instanceof Long) && !(time instanceof Boolean)) { // a Python bool is an int
            throw new DecodeException("missing event time " + PyValues.repr(timeField));
        }
        long ms = time instanceof Boolean b ? (b ? 1 : 0) : (Long) time;
        if (ms < MIN_EVENT_TIME_MS || ms >= MAX_EVENT_TIME_MS) {
            throw new DecodeException("absurd event time " + timeField + "=" + PyValues.str(time)
                    + ": expected epoch milliseconds between 2000 and 2100");
        }
        for (int i = 0; i < values.length; i++) {
            if (values[i] instanceof Double d && !Double.isFinite(d)) {
                throw new DecodeException("field " + PyValues.repr(writer.names[i]) + " is " + PyValues.repr(d)
                        + ", not a finite number");
            }
        }
    }

    /** The values in column order, each checked against its column's type (udfs.decode._fits). */
    private Object[] columns(Writer writer, Object[] values) throws DecodeException {
        Object[] columns = new Object[fieldNames.length];
        for (int c = 0; c < columns.length; c++) {
            int source = writer.columnSource[c];
            Object v = source < 0 ? null : values[source];
            if (v != null) {
                v = fit(v, fieldTypes[c]);
                if (v == null) {
                    throw new DecodeException("field " + PyValues.repr(fieldNames[c]) + " is " + PyValues.repr(values[source])
                            + ", which its " + fieldTypes[c] + " column (newest schema) cannot carry");
                }
            }
            columns[c] = v;
        }
        return columns;
    }

    /** The value as its column carries it, or null when it cannot (an int widens to DOUBLE). */
    private static Object fit(Object v, String type) {
        return switch (type) {
            case "STRING" -> v instanceof String ? v : null;
            case "BOOLEAN" -> v instanceof Boolean ? v : null;
            case "LONG" -> v instanceof Long ? v : null;
            default -> v instanceof Double ? v : v instanceof Long l ? (Object) (double) l : null;
        };
    }

    private static String length(String[] array) {
        return array == null ? "no" : String.valueOf(array.length);
    }
}
