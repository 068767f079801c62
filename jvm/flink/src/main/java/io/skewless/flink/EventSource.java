package io.skewless.flink;

import java.io.IOException;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The topic's Kafka source: records are decoded as they are read, and watermarks come from the
 * decoded event time, per partition, with bounded out-of-orderness.
 *
 * <p>The producer's record timestamp plays no part: a producer with a bad clock cannot make good
 * events late. A record that cannot be decoded, or whose event time lies more than
 * {@code futureBoundMs} ahead of this task's clock, gets no timestamp and so never moves the
 * watermark; it leaves the source as a row with {@code __error} set, which
 * {@link DecodeRecordsFunction} turns into a dead letter.
 *
 * <p>Output ({@link #outputType}): the decoded columns, then __value BYTES, __topic STRING,
 * __partition INT, __offset LONG, __error STRING (null for a good record).
 *
 * <p>Offsets: a job restored from a checkpoint or savepoint continues from the offsets in it; a job
 * without state reads from the earliest offset (never from committed group offsets, which would
 * pair old offsets with empty state). Offsets are committed to the group on checkpoints, for lag
 * monitoring only.
 */
public final class EventSource {
    public static final String ERROR_FIELD = "__error";
    /** An error row's reason starts with this when its event time is ahead of the clock. */
    public static final String FUTURE = "event time ahead of the clock: ";

    private EventSource() {}

    /**
     * The decoded, watermarked records of one topic, added to {@code env}.
     *
     * @param schemaTexts writer schemas, oldest first (see {@link EventDecoder})
     * @param fieldNames the row's columns, in order; fieldTypes their types
     * @param timeField the event-time column
     * @param outOfOrdernessMs how far behind the newest event time of a partition its events may be
     * @param idleMs a partition without records for this long stops holding back the watermark
     * @param futureBoundMs an event time more than this ahead of the clock is refused
     * @param perEventWatermarks emit a watermark after every record (bounded replays: lateness then
     *     depends on the data alone), else periodically
     */
    static DataStream<Row> read(StreamExecutionEnvironment env, String bootstrap, String topic, String groupId,
            boolean bounded, String[] schemaTexts, String[] fieldNames, String[] fieldTypes, String timeField,
            long outOfOrdernessMs, long idleMs, long futureBoundMs, boolean perEventWatermarks, String name) {
        checkWatermarks(outOfOrdernessMs, idleMs, futureBoundMs);
        Deserializer deserializer = new Deserializer(schemaTexts, fieldNames, fieldTypes, timeField, futureBoundMs);
        KafkaSourceBuilder<Row> builder = KafkaSource.<Row>builder()
                .setBootstrapServers(bootstrap)
                .setTopics(topic)
                .setGroupId(groupId)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(deserializer)
                .setProperty("commit.offsets.on.checkpoint", "true")
                .setProperty("partition.discovery.interval.ms", "60000");
        if (bounded) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        int timeIndex = deserializer.timeIndex;
        int errorIndex = fieldNames.length + 4;
        WatermarkStrategy<Row> watermarks = WatermarkStrategy
                .<Row>forGenerator(ctx -> new EventTimeWatermarks(outOfOrdernessMs, perEventWatermarks))
                .withTimestampAssigner((row, kafkaTs) -> row.getField(errorIndex) != null
                        ? Long.MIN_VALUE
                        : (Long) row.getField(timeIndex))
                .withIdleness(Duration.ofMillis(idleMs));
        return env.fromSource(builder.build(), watermarks, name, deserializer.getProducedType());
    }

    static void checkWatermarks(long outOfOrdernessMs, long idleMs, long futureBoundMs) {
        if (outOfOrdernessMs < 0 || idleMs <= 0 || futureBoundMs < 0) {
            throw new IllegalArgumentException("out-of-orderness and future bound must be >= 0 and the idle timeout > 0");
        }
    }

    /**
     * Raw records (value BYTES, topic STRING, partition INT, offset LONG) decoded as the source
     * decodes what it reads: for records from elsewhere (files of a backfill, tests).
     */
    static DataStream<Row> decodeRows(DataStream<Row> raw, String[] schemaTexts, String[] fieldNames,
            String[] fieldTypes, String timeField, long futureBoundMs) {
        Deserializer deserializer = new Deserializer(schemaTexts, fieldNames, fieldTypes, timeField, futureBoundMs);
        return raw.map(new RichMapFunction<Row, Row>() {
            private static final long serialVersionUID = 1L;

            @Override
            public void open(OpenContext openContext) {
                deserializer.open(null);
            }

            @Override
            public Row map(Row r) {
                return deserializer.decode((byte[]) r.getField(0), (String) r.getField(1), (Integer) r.getField(2),
                        (Long) r.getField(3));
            }
        }, deserializer.getProducedType());
    }

    /** The source's row type for the given columns: the decoded row's, plus __error. */
    public static TypeInformation<Row> outputType(String[] fieldNames, String[] fieldTypes) {
        return rowType(fieldNames, fieldTypes, true);
    }

    /** The columns (STRING, LONG, DOUBLE or BOOLEAN), the origin trailer, and __error if asked. */
    static TypeInformation<Row> rowType(String[] fieldNames, String[] fieldTypes, boolean withError) {
        int n = fieldNames.length;
        String[] trailer = DecodeRecordsFunction.TRAILER;
        String[] names = new String[n + trailer.length + (withError ? 1 : 0)];
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
        System.arraycopy(trailer, 0, names, n, trailer.length);
        types[n] = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
        types[n + 1] = Types.STRING;
        types[n + 2] = Types.INT;
        types[n + 3] = Types.LONG;
        if (withError) {
            names[n + trailer.length] = ERROR_FIELD;
            types[n + trailer.length] = Types.STRING;
        }
        return Types.ROW_NAMED(names, types);
    }

    /** Kafka record -> decoded row, or an error row with the raw value and the reason. */
    static final class Deserializer implements KafkaRecordDeserializationSchema<Row> {
        private static final long serialVersionUID = 1L;

        private final String[] schemaTexts;
        private final String[] fieldNames;
        private final String[] fieldTypes;
        private final String timeField;
        private final long futureBoundMs;
        final int timeIndex;
        private transient EventDecoder decoder;

        Deserializer(String[] schemaTexts, String[] fieldNames, String[] fieldTypes, String timeField, long futureBoundMs) {
            new EventDecoder(schemaTexts, fieldNames, fieldTypes, timeField); // validates at build time
            this.schemaTexts = schemaTexts.clone();
            this.fieldNames = fieldNames.clone();
            this.fieldTypes = fieldTypes.clone();
            this.timeField = timeField;
            this.futureBoundMs = futureBoundMs;
            this.timeIndex = java.util.Arrays.asList(fieldNames).indexOf(timeField);
            if (timeIndex < 0 || !"LONG".equals(fieldTypes[timeIndex])) {
                throw new IllegalArgumentException("event time field " + timeField + " must be a LONG column");
            }
        }

        @Override
        public void open(DeserializationSchema.InitializationContext context) {
            decoder = new EventDecoder(schemaTexts, fieldNames, fieldTypes, timeField);
        }

        @Override
        public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Row> out) throws IOException {
            out.collect(decode(record.value(), record.topic(), record.partition(), record.offset()));
        }

        Row decode(byte[] value, String topic, int partition, long offset) {
            Object[] columns;
            String error = null;
            try {
                columns = decoder.decode(value);
                long eventTime = (Long) columns[timeIndex];
                long now = System.currentTimeMillis();
                if (eventTime - now > futureBoundMs) {
                    error = FUTURE + timeField + "=" + eventTime + " is " + (eventTime - now)
                            + " ms ahead of the clock; the bound is " + futureBoundMs + " ms";
                    columns = new Object[fieldNames.length];
                }
            } catch (EventDecoder.DecodeException e) {
                error = e.getMessage();
                columns = new Object[fieldNames.length];
            }
            Row row = new Row(columns.length + 5);
            for (int i = 0; i < columns.length; i++) {
                row.setField(i, columns[i]);
            }
            row.setField(columns.length, value == null ? new byte[0] : value);
            row.setField(columns.length + 1, topic);
            row.setField(columns.length + 2, partition);
            row.setField(columns.length + 3, offset);
            row.setField(columns.length + 4, error);
            return row;
        }

        @Override
        public TypeInformation<Row> getProducedType() {
            return outputType(fieldNames, fieldTypes);
        }
    }
}
