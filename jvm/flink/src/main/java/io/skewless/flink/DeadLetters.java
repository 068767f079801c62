package io.skewless.flink;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.types.Row;
import org.apache.flink.util.OutputTag;

/**
 * The dead-letter record of every JVM stage: Row(value BYTES, headers MAP&lt;STRING, BYTES&gt;), the
 * original bytes plus why and where from, which the job writes to {@code <topic>.dead-letters} with
 * the headers as Kafka headers.
 */
public final class DeadLetters {
    /** The side output id of the decode and row-logic stages (Flink matches side outputs by id). */
    public static final String TAG_ID = "dead-letters";
    public static final String REASON = "skewless.reason";
    public static final String STAGE = "skewless.stage";
    public static final String VIEW = "skewless.view";

    private DeadLetters() {}

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
     * @param value the original record value (null becomes empty)
     * @param viewLabel the view's name@version for view-specific stages, null for the topic's own
     */
    public static Row of(byte[] value, String reason, String stage, Object topic, Object partition, Object offset,
            String viewLabel) {
        Map<String, byte[]> headers = new LinkedHashMap<>();
        headers.put(REASON, utf8(reason));
        headers.put(STAGE, utf8(stage));
        headers.put("skewless.source.topic", utf8(origin(topic)));
        headers.put("skewless.source.partition", utf8(origin(partition)));
        headers.put("skewless.source.offset", utf8(origin(offset)));
        if (viewLabel != null) {
            headers.put(VIEW, utf8(viewLabel));
        }
        return Row.of(value == null ? new byte[0] : value, headers);
    }

    /** As Python's str() prints the origin: None for a missing one. */
    private static String origin(Object v) {
        return v == null ? "None" : v.toString();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
