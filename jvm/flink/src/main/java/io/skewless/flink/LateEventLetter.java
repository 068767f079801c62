package io.skewless.flink;

import java.nio.charset.StandardCharsets;
import org.apache.flink.types.Row;

/**
 * The dead letter of an event behind the allowed lateness, byte for byte what udfs.aggregator
 * yields: Row(value, headers) with value {@code json.dumps({"key": ..., "event_time": ...})} and the
 * headers of udfs.dead_letters.dead_letter plus the view's name@version (udfs.decode.VIEW_HEADER).
 */
public final class LateEventLetter {
    public static final String STAGE = "aggregate";

    private LateEventLetter() {}

    public static Row of(String viewLabel, String key, long eventTime, long watermark, long allowedLatenessMs,
            Object topic, Object partition, Object offset) {
        String reason = "late event: event_time " + eventTime + " is " + behind(watermark, eventTime)
                + " ms behind the watermark, beyond the allowed lateness of " + allowedLatenessMs + " ms";
        String body = "{\"key\": " + jsonString(key) + ", \"event_time\": " + eventTime + "}";
        return DeadLetters.of(body.getBytes(StandardCharsets.UTF_8), reason, STAGE, topic, partition, offset,
                viewLabel);
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
}
