package io.skewless.flink;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.types.Row;

/**
 * The dead letter of an event behind the allowed lateness, byte for byte what udfs.aggregator
 * yields: Row(value, headers) with value {@code json.dumps({"key": ..., "event_time": ...})} and the
 * headers of udfs.dead_letters.dead_letter plus the view's name@version (udfs.decode.VIEW_HEADER).
 */
public final class LateEventLetter {
    public static final String VIEW_HEADER = "skewless.view";
    public static final String STAGE = "aggregate";

    private LateEventLetter() {}

    /** udfs.dead_letters.DEAD_LETTER_TYPE. */
    public static TypeInformation<Row> type() {
        return Types.ROW_NAMED(
                new String[] {"value", "headers"},
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO,
                Types.MAP(Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    public static Row of(String viewLabel, String key, long eventTime, long watermark, long allowedLatenessMs,
            Object topic, Object partition, Object offset) {
        String reason = "late event: event_time " + eventTime + " is " + behind(watermark, eventTime)
                + " ms behind the watermark, beyond the allowed lateness of " + allowedLatenessMs + " ms";
        String body = "{\"key\": " + jsonString(key) + ", \"event_time\": " + eventTime + "}";
        Map<String, byte[]> headers = new LinkedHashMap<>();
        headers.put("skewless.reason", utf8(reason));
        headers.put("skewless.stage", utf8(STAGE));
        headers.put("skewless.source.topic", utf8(String.valueOf(topic)));
        headers.put("skewless.source.partition", utf8(String.valueOf(partition)));
        headers.put("skewless.source.offset", utf8(String.valueOf(offset)));
        headers.put(VIEW_HEADER, utf8(viewLabel));
        return Row.of(utf8(body), headers);
    }

    /** watermark - eventTime as Python's unbounded ints print it. */
    private static String behind(long watermark, long eventTime) {
        long r = watermark - eventTime;
        boolean overflow = ((watermark ^ eventTime) & (watermark ^ r)) < 0;
        return overflow
                ? java.math.BigInteger.valueOf(watermark).subtract(java.math.BigInteger.valueOf(eventTime)).toString()
                : Long.toString(r);
    }

    /** A JSON string as Python's json.dumps writes it (ensure_ascii: everything outside ' '..'~' escaped). */
    static String jsonString(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c >= ' ' && c <= '~') {
                        out.append(c);
                    } else {
                        out.append(String.format("\\u%04x", (int) c)); // UTF-16 units: surrogate pairs as Python
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
