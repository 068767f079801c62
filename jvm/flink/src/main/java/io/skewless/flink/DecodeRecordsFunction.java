package io.skewless.flink;

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
 * The decode stage of a topic in the JVM, with the contract of udfs.decode.DecodeRecords: raw Kafka
 * rows in, the generic typed rows of the writer schemas' fields out, bad records to
 * {@link DeadLetters#tag()} as dead letters (stage "decode"), counted by {@value #DEAD_LETTERS_METRIC}.
 *
 * <p>Input: (value BYTES, topic STRING, partition INT, offset LONG, anything after is ignored), as
 * the Kafka table source of jobs/pipeline.py read_topic yields. Output ({@link #outputType()}): one
 * column per field (STRING, LONG, DOUBLE or BOOLEAN), then __value BYTES, __topic STRING,
 * __partition INT, __offset LONG. Decoding and its checks: {@link EventDecoder}.
 */
public final class DecodeRecordsFunction extends ProcessFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    public static final String DEAD_LETTERS_METRIC = "dead_letters_decode";
    public static final String STAGE = "decode";
    /** udfs.decode.TRAILER: the columns after the fields. */
    public static final String[] TRAILER = {"__value", "__topic", "__partition", "__offset"};

    private final String[] schemaTexts;
    private final String[] fieldNames;
    private final String[] fieldTypes;
    private final String timeField;

    private transient EventDecoder decoder;
    private transient Counter deadLetters;
    private transient OutputTag<Row> deadTag;

    private DecodeRecordsFunction(String[] schemaTexts, String[] fieldNames, String[] fieldTypes, String timeField) {
        this.schemaTexts = schemaTexts.clone();
        this.fieldNames = fieldNames.clone();
        this.fieldTypes = fieldTypes.clone();
        this.timeField = timeField;
    }

    /**
     * The decode stage of one topic, from what udfs.decode computes in Python.
     *
     * @param schemaTexts the writer schemas' .avsc texts, oldest first
     * @param fieldNames udfs.decode.record_fields names, in order
     * @param fieldTypes their types: STRING, LONG, DOUBLE or BOOLEAN
     * @param timeField the event-time field (every record must carry epoch ms in [2000, 2100))
     * @throws IllegalArgumentException naming the wrong input (schemas are parsed here, at build time)
     */
    public static DecodeRecordsFunction create(String[] schemaTexts, String[] fieldNames, String[] fieldTypes,
            String timeField) {
        new EventDecoder(schemaTexts, fieldNames, fieldTypes, timeField); // validates; rebuilt in open()
        return new DecodeRecordsFunction(schemaTexts, fieldNames, fieldTypes, timeField);
    }

    /** udfs.decode.record_type of the fields. */
    public TypeInformation<Row> outputType() {
        int n = fieldNames.length;
        String[] names = new String[n + TRAILER.length];
        TypeInformation<?>[] types = new TypeInformation<?>[names.length];
        for (int i = 0; i < n; i++) {
            names[i] = fieldNames[i];
            types[i] = switch (fieldTypes[i]) {
                case "STRING" -> Types.STRING;
                case "LONG" -> Types.LONG;
                case "DOUBLE" -> Types.DOUBLE;
                default -> Types.BOOLEAN;
            };
        }
        System.arraycopy(TRAILER, 0, names, n, TRAILER.length);
        types[n] = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
        types[n + 1] = Types.STRING;
        types[n + 2] = Types.INT;
        types[n + 3] = Types.LONG;
        return Types.ROW_NAMED(names, types);
    }

    /** raw through this stage: one call from Python instead of process(...). */
    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> raw) {
        return applyTo(raw, outputType());
    }

    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> raw, TypeInformation<Row> outputType) {
        return raw.process(this, outputType);
    }

    @Override
    public void open(OpenContext openContext) {
        decoder = newDecoder();
        deadLetters = getRuntimeContext().getMetricGroup().counter(DEAD_LETTERS_METRIC);
        deadTag = DeadLetters.tag();
    }

    EventDecoder newDecoder() {
        return new EventDecoder(schemaTexts, fieldNames, fieldTypes, timeField);
    }

    @Override
    public void processElement(Row value, Context ctx, Collector<Row> out) {
        byte[] raw = (byte[]) value.getField(0);
        try {
            out.collect(row(decoder.decode(raw), value));
        } catch (EventDecoder.DecodeException e) {
            deadLetters.inc();
            ctx.output(deadTag, deadLetter(raw, e.getMessage(), value.getField(1), value.getField(2), value.getField(3)));
        }
    }

    /** The decoded row: the columns, then the input's value, topic, partition and offset. */
    static Row row(Object[] columns, Row input) {
        Row row = new Row(columns.length + TRAILER.length);
        for (int i = 0; i < columns.length; i++) {
            row.setField(i, columns[i]);
        }
        for (int i = 0; i < TRAILER.length; i++) {
            row.setField(columns.length + i, input.getField(i));
        }
        return row;
    }

    static Row deadLetter(byte[] value, String reason, Object topic, Object partition, Object offset) {
        return DeadLetters.of(value, reason, STAGE, topic, partition, offset, null);
    }
}
