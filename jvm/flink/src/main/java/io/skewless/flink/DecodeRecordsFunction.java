package io.skewless.flink;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The decode stage of a topic: {@link EventSource} decodes each record as it reads it; this stage
 * sends the records it could not decode to {@link DeadLetters#tag()} as dead letters (stage
 * "decode"), counted by {@value #DEAD_LETTERS_METRIC}, and passes the others on.
 *
 * <p>Each letter is also counted by reason code ({@link DeadLetters#topicCode}): the counter
 * {@value ViewEventsFunction#DEAD_LETTERS} under {@code topic=<topic>} and
 * {@code reason_code=<code>}, and the accumulator {@code <topic>|dead_letters|<code>} of the job's
 * result ({@link ResultCounter}).
 *
 * <p>Input: {@link EventSource#outputType} rows. Output ({@link #outputType()}): one column per field
 * (STRING, LONG, DOUBLE or BOOLEAN), then __value BYTES, __topic STRING, __partition INT, __offset
 * LONG. Decoding and its checks: {@link EventDecoder}.
 */
public final class DecodeRecordsFunction extends ProcessFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    public static final String DEAD_LETTERS_METRIC = "dead_letters_decode";
    public static final String TOPIC_GROUP = "topic";
    public static final String STAGE = "decode";
    /** jobs.rows.TRAILER: the columns after the fields. */
    public static final String[] TRAILER = {"__value", "__topic", "__partition", "__offset"};

    private final String[] fieldNames;
    private final String[] fieldTypes;

    private transient Counter deadLetters;
    private transient Map<String, Counter> deadLettersByCode;
    private transient OutputTag<Row> deadTag;

    private DecodeRecordsFunction(String[] fieldNames, String[] fieldTypes) {
        this.fieldNames = fieldNames.clone();
        this.fieldTypes = fieldTypes.clone();
    }

    /**
     * The decode stage of one topic ({@link JobSpec#decode}).
     *
     * @param schemaTexts the writer schemas' .avsc texts, oldest first
     * @param fieldNames jobs.rows.record_fields names, in order
     * @param fieldTypes their types: STRING, LONG, DOUBLE or BOOLEAN
     * @param timeField the event-time field (every record must carry epoch ms in [2000, 2100))
     * @throws IllegalArgumentException naming the wrong input (schemas are parsed here, at build time)
     */
    static DecodeRecordsFunction create(String[] schemaTexts, String[] fieldNames, String[] fieldTypes,
            String timeField) {
        new EventDecoder(schemaTexts, fieldNames, fieldTypes, timeField); // validates: the source decodes
        return new DecodeRecordsFunction(fieldNames, fieldTypes);
    }

    /** jobs.rows.record_type of the fields. */
    public TypeInformation<Row> outputType() {
        return EventSource.rowType(fieldNames, fieldTypes, false);
    }

    /** raw through this stage. */
    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> raw) {
        return applyTo(raw, outputType());
    }

    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> raw, TypeInformation<Row> outputType) {
        return raw.process(this, outputType);
    }

    @Override
    public void open(OpenContext openContext) {
        deadLetters = getRuntimeContext().getMetricGroup().counter(DEAD_LETTERS_METRIC);
        deadLettersByCode = new HashMap<>();
        deadTag = DeadLetters.tag();
    }

    @Override
    public void processElement(Row value, Context ctx, Collector<Row> out) {
        int n = fieldNames.length;
        Object error = value.getField(n + TRAILER.length);
        if (error != null) {
            deadLetters.inc();
            countByCode(DeadLetters.topicCode((String) error, STAGE), String.valueOf(value.getField(n + 1)));
            ctx.output(deadTag, deadLetter((byte[]) value.getField(n), (String) error, value.getField(n + 1),
                    value.getField(n + 2), value.getField(n + 3)));
            return;
        }
        Row row = new Row(n + TRAILER.length);
        for (int i = 0; i < row.getArity(); i++) {
            row.setField(i, value.getField(i));
        }
        out.collect(row);
    }

    /** One more letter of {@code code} from {@code topic} (the one topic this stage reads). */
    private void countByCode(String code, String topic) {
        deadLettersByCode.computeIfAbsent(code, c -> ResultCounter.register(getRuntimeContext(),
                getRuntimeContext().getMetricGroup().addGroup(TOPIC_GROUP, topic)
                        .addGroup(ViewEventsFunction.REASON_CODE_GROUP, c),
                ViewEventsFunction.DEAD_LETTERS, topic, ViewEventsFunction.DEAD_LETTERS, c)).inc();
    }

    static Row deadLetter(byte[] value, String reason, Object topic, Object partition, Object offset) {
        return DeadLetters.of(value, reason, STAGE, topic, partition, offset, null);
    }
}
