package io.skewless.flink;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flink.types.Row;

/**
 * Events behind a view's allowed lateness: the rule and reason the row-logic stage
 * ({@link ViewEventsFunction}) dead-letters them by, with code {@value #CODE}, and the letter of the
 * tile operator's safety net ({@link TileAggregatorFunction}), which sees only the view event: value
 * {@code json.dumps({"key": ..., "event_time": ...})}, stage {@value #STAGE}.
 */
public final class LateEventLetter {
    public static final String STAGE = "aggregate";
    public static final String CODE = "late";

    private LateEventLetter() {}

    /** The tile operator's letter of a too-late event (the row-logic stage should have caught it). */
    public static Row of(String viewLabel, String key, long eventTime, long watermark, long allowedLatenessMs,
            Object topic, Object partition, Object offset) {
        String body = "{\"key\": " + jsonString(key) + ", \"event_time\": " + eventTime + "}";
        DeadLetters.Rejection late = new DeadLetters.Rejection(viewLabel, CODE, reason(eventTime, watermark,
                allowedLatenessMs));
        return DeadLetters.of(body.getBytes(StandardCharsets.UTF_8), STAGE, List.of(late), topic, partition, offset);
    }

    /** Whether an event is within the allowed lateness: the rule of TileEngine.accepts, saturating. */
    public static boolean accepts(long eventTime, long watermark, long allowedLatenessMs) {
        long bound = watermark - allowedLatenessMs;
        boolean overflow = ((watermark ^ allowedLatenessMs) & (watermark ^ bound)) < 0;
        return eventTime > (overflow ? Long.MIN_VALUE : bound);
    }

    public static String reason(long eventTime, long watermark, long allowedLatenessMs) {
        return "late event: event_time " + eventTime + " is " + behind(watermark, eventTime)
                + " ms behind the watermark, beyond the allowed lateness of " + allowedLatenessMs + " ms";
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
