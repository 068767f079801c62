package io.skewless.flink;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;

/**
 * The dead-letter record of every JVM stage: Row(value BYTES, headers MAP&lt;STRING, BYTES&gt;), the
 * original bytes plus why and where from, which the job writes to {@code <topic>.dead-letters} with
 * the headers as Kafka headers. One record makes at most one letter: a letter of the row-logic stage
 * names every view that refused the record.
 *
 * <p>Headers: {@value #REASON} (the reason text; for view letters {@code "a@1: reason; b@2: reason"}),
 * {@value #REASON_CODE} (short machine-readable codes, comma-separated, one per view of
 * {@value #VIEWS} in that order, or one for a topic-stage letter), {@value #STAGE}, the origin
 * ({@code skewless.source.topic|partition|offset}), {@value #VIEWS} ("a@1,b@2", view letters only)
 * and, on a letter whose value was cut to fit, {@value #TRUNCATED} = "true", {@value #ORIGINAL_SIZE}
 * (bytes, decimal) and {@value #SHA256} (hex SHA-256 of the whole original value).
 *
 * <p>Size: value plus headers (keys and values) never exceed {@value #MAX_BYTES} bytes, which leaves
 * room for Kafka's per-record overhead below the producer's max.request.size (1048576, set in
 * jobs/sources.py) and the broker's default message.max.bytes (1048588): every text header is cut
 * to {@value #MAX_TEXT_BYTES} bytes (a reason can quote data), and a value too big for the rest is
 * truncated.
 */
public final class DeadLetters {
    /** The side output id of the decode stage (Flink matches side outputs by id). */
    public static final String TAG_ID = "dead-letters";
    public static final String REASON = "skewless.reason";
    public static final String REASON_CODE = "skewless.reason-code";
    public static final String STAGE = "skewless.stage";
    public static final String VIEWS = "skewless.views";
    public static final String SOURCE_TOPIC = "skewless.source.topic";
    public static final String SOURCE_PARTITION = "skewless.source.partition";
    public static final String SOURCE_OFFSET = "skewless.source.offset";
    public static final String TRUNCATED = "skewless.truncated";
    public static final String ORIGINAL_SIZE = "skewless.original-size";
    public static final String SHA256 = "skewless.sha256";
    /** Value plus header keys and values of one letter, at most. */
    public static final int MAX_BYTES = 1_000_000;
    /** One text header (reason, codes, views), at most. */
    public static final int MAX_TEXT_BYTES = 4_096;
    /** One view's part of a combined reason, at most. */
    public static final int MAX_VIEW_REASON_BYTES = 1_024;

    /**
     * Reason codes of the topic's own stages, by what their reasons start with (the texts of
     * {@link EventDecoder} and of the source's event-time bound); first match wins.
     */
    private static final String[][] TOPIC_CODES = {
        {"empty record value", "empty_value"},
        {"not Avro single-object encoding", "not_avro"},
        {"unknown writer schema", "unknown_schema"},
        {EventDecoder.CORRUPT, "corrupt_avro"},
        {"missing entity key", "missing_key"},
        {"missing event time", "missing_event_time"},
        {"absurd event time", "absurd_event_time"},
        {"event time ahead of the clock", "future_event_time"},
        {"field ", "bad_field"},
    };

    private DeadLetters() {}

    /**
     * Why one view refused a record.
     *
     * @param view the view's name@version, null for a topic stage (decode)
     * @param code a short machine-readable code (row_logic, late, missing_key, ...)
     * @param reason the human-readable reason
     */
    public record Rejection(String view, String code, String reason) {}

    public static TypeInformation<Row> type() {
        return Types.ROW_NAMED(
                new String[] {"value", "headers"},
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO,
                Types.MAP(Types.STRING, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    public static OutputTag<Row> tag() {
        return new OutputTag<>(TAG_ID, type());
    }

    /**
     * A letter with one reason; its code comes from the reason text ({@link #topicCode}).
     *
     * @param value the original record value (null becomes empty)
     * @param viewLabel the view's name@version for view-specific stages, null for the topic's own
     */
    public static Row of(byte[] value, String reason, String stage, Object topic, Object partition, Object offset,
            String viewLabel) {
        return of(value, stage, List.of(new Rejection(viewLabel, topicCode(reason, stage), reason)), topic, partition,
                offset);
    }

    /**
     * The one letter of a record that one or more views (or a topic stage) refused.
     *
     * @param value the original record value (null becomes empty); cut to fit {@link #MAX_BYTES}
     * @param rejections at least one; all with a view, or a single one without
     */
    public static Row of(byte[] value, String stage, List<Rejection> rejections, Object topic, Object partition,
            Object offset) {
        if (rejections.isEmpty()) {
            throw new IllegalArgumentException("a dead letter needs at least one rejection");
        }
        List<String> views = new ArrayList<>(rejections.size());
        List<String> codes = new ArrayList<>(rejections.size());
        List<String> reasons = new ArrayList<>(rejections.size());
        for (Rejection r : rejections) {
            codes.add(r.code());
            if (r.view() == null) {
                reasons.add(r.reason());
            } else {
                views.add(r.view());
                reasons.add(r.view() + ": " + cap(r.reason(), MAX_VIEW_REASON_BYTES));
            }
        }
        Map<String, byte[]> headers = new LinkedHashMap<>();
        headers.put(REASON, utf8(cap(String.join("; ", reasons), MAX_TEXT_BYTES)));
        headers.put(REASON_CODE, utf8(cap(String.join(",", codes), MAX_TEXT_BYTES)));
        headers.put(STAGE, utf8(cap(stage, MAX_TEXT_BYTES)));
        headers.put(SOURCE_TOPIC, utf8(cap(origin(topic), MAX_TEXT_BYTES)));
        headers.put(SOURCE_PARTITION, utf8(origin(partition)));
        headers.put(SOURCE_OFFSET, utf8(origin(offset)));
        if (!views.isEmpty()) {
            headers.put(VIEWS, utf8(cap(String.join(",", views), MAX_TEXT_BYTES)));
        }
        return Row.of(fit(value == null ? new byte[0] : value, headers), headers);
    }

    /** The code of a topic-stage reason: by its start, "trailing_bytes" for trailing bytes, else the stage. */
    public static String topicCode(String reason, String stage) {
        if (reason != null) {
            for (String[] entry : TOPIC_CODES) {
                if (reason.startsWith(entry[0])) {
                    return entry[1];
                }
            }
            if (reason.endsWith("trailing bytes after the Avro body")) {
                return "trailing_bytes";
            }
        }
        return stage;
    }

    /** value, or its head with the truncation headers added to {@code headers}, so both fit MAX_BYTES. */
    private static byte[] fit(byte[] value, Map<String, byte[]> headers) {
        if (headerBytes(headers) + value.length <= MAX_BYTES) {
            return value;
        }
        headers.put(TRUNCATED, utf8("true"));
        headers.put(ORIGINAL_SIZE, utf8(Integer.toString(value.length)));
        headers.put(SHA256, utf8(sha256(value)));
        return Arrays.copyOf(value, Math.max(0, MAX_BYTES - headerBytes(headers)));
    }

    static int headerBytes(Map<String, byte[]> headers) {
        int n = 0;
        for (Map.Entry<String, byte[]> h : headers.entrySet()) {
            n += utf8(h.getKey()).length + h.getValue().length;
        }
        return n;
    }

    /** s in at most maxBytes of UTF-8: cut at a character boundary, with a mark saying how long it was. */
    static String cap(String s, int maxBytes) {
        byte[] bytes = utf8(s);
        if (bytes.length <= maxBytes) {
            return s;
        }
        String mark = "... [cut, " + bytes.length + " bytes]";
        int keep = Math.max(0, maxBytes - mark.length());
        while (keep > 0 && (bytes[keep] & 0xC0) == 0x80) {
            keep--; // bytes[keep] continues a character that started before it: leave it out whole
        }
        return new String(bytes, 0, keep, StandardCharsets.UTF_8) + mark;
    }

    private static String sha256(byte[] value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** As Python's str() prints the origin: None for a missing one. */
    private static String origin(Object v) {
        return v == null ? "None" : v.toString();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
