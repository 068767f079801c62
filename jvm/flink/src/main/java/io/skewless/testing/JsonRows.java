package io.skewless.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An event as one line of JSON, to and from the record {@link io.skewless.logic.RowLogic} takes:
 * values String, Long, Double, Boolean or null, the types the job's decoder gives it. NaN and
 * infinities pass as Python's json module writes them.
 */
final class JsonRows {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.USE_LONG_FOR_INTS)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .build();
    private static final TypeReference<LinkedHashMap<String, Object>> ROW = new TypeReference<>() {
    };

    private JsonRows() {
    }

    static Map<String, Object> read(String line) {
        Map<String, Object> row;
        try {
            row = JSON.readValue(line, ROW);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("an event must be a JSON object: " + e.getOriginalMessage(), e);
        }
        for (Map.Entry<String, Object> field : row.entrySet()) {
            Object v = field.getValue();
            if (v != null && !(v instanceof String || v instanceof Long || v instanceof Double || v instanceof Boolean)) {
                throw new IllegalArgumentException(
                        "event field '" + field.getKey() + "' is a " + (v instanceof Map ? "record" : "list")
                                + "; events carry strings, numbers, booleans or nulls");
            }
        }
        return row;
    }

    static String write(Map<String, Object> row) {
        try {
            return JSON.writeValueAsString(row);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a row as JSON: " + e.getOriginalMessage(), e);
        }
    }
}
