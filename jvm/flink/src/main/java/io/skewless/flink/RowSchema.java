package io.skewless.flink;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * The reader schema of the decode stage: the newest writer schema cut down to the row's columns, in
 * column order, so that Avro's resolution skips every other field and record field i is column i.
 */
final class RowSchema {
    private RowSchema() {}

    /**
     * @throws IllegalArgumentException when a column is not a field of {@code newest}, or its Avro
     *     type is not one the column's type carries (jobs.rows.column_type)
     */
    static Schema of(Schema newest, String[] fieldNames, String[] fieldTypes) {
        List<Schema.Field> fields = new ArrayList<>(fieldNames.length);
        for (int c = 0; c < fieldNames.length; c++) {
            Schema.Field field = newest.getField(fieldNames[c]);
            if (field == null) {
                throw new IllegalArgumentException("field " + fieldNames[c] + " is not a field of the newest schema "
                        + newest.getFullName());
            }
            if (!carries(fieldTypes[c], field.schema())) {
                throw new IllegalArgumentException("field " + fieldNames[c] + ": a " + fieldTypes[c]
                        + " column cannot carry its Avro type " + field.schema());
            }
            fields.add(new Schema.Field(field, field.schema())); // a field belongs to one record: copy it
        }
        Schema row = Schema.createRecord(newest.getName(), newest.getDoc(), newest.getNamespace(), newest.isError(),
                fields);
        newest.getAliases().forEach(row::addAlias);
        return row;
    }

    /**
     * Avro's location of an incompatibility (a JSON pointer into the reader schema, such as
     * "/fields/2/type/items") as field names: "count[]"; nested fields joined by dots.
     */
    static String fieldPath(Schema reader, String location) {
        StringBuilder path = new StringBuilder();
        Schema at = reader;
        String[] steps = location.split("/");
        for (int i = 1; i < steps.length; i++) {
            String step = steps[i];
            if (step.equals("fields") && i + 1 < steps.length && at.getType() == Schema.Type.RECORD) {
                Schema.Field field = at.getFields().get(Integer.parseInt(steps[++i]));
                path.append(path.length() == 0 ? "" : ".").append(field.name());
                at = field.schema();
            } else if (step.equals("items") && at.getType() == Schema.Type.ARRAY) {
                path.append("[]");
                at = at.getElementType();
            } else if (step.equals("values") && at.getType() == Schema.Type.MAP) {
                path.append("{}");
                at = at.getValueType();
            } else if (at.isUnion() && step.matches("\\d+")) {
                at = at.getTypes().get(Integer.parseInt(step));
            } else if (!step.equals("type")) {
                break; // name, size, symbols: about the type where we are
            }
        }
        return path.length() == 0 ? "the record" : path.toString();
    }

    /** Whether a column of {@code type} carries values of {@code avro}: the type itself or [null, it]. */
    private static boolean carries(String type, Schema avro) {
        if (avro.isUnion()) {
            List<Schema> members = avro.getTypes().stream().filter(m -> m.getType() != Schema.Type.NULL).toList();
            return members.size() == 1 && members.size() < avro.getTypes().size() && carries(type, members.get(0));
        }
        return switch (avro.getType()) {
            case STRING -> type.equals("STRING");
            case INT, LONG -> type.equals("LONG");
            case FLOAT, DOUBLE -> type.equals("DOUBLE");
            case BOOLEAN -> type.equals("BOOLEAN");
            default -> false;
        };
    }
}
