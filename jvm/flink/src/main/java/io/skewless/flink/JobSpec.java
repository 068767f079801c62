package io.skewless.flink;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skewless.engine.Catalogue;
import io.skewless.engine.ViewFeatures;
import io.skewless.engine.ValueType;
import io.skewless.flink.metrics.FreshnessSlo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Row;

/**
 * The one entry point of the job's JVM operators: built from one JSON document (Python's
 * jobs.operators.job_document), validated whole at build time, then asked for each operator.
 *
 * <p>The document (every part optional; a method needing an absent part says so):
 * <pre>
 * {"topic": "transactions",
 *  "records": {"schemas": [".avsc text", ...oldest first], "fields": [{"name": .., "type": "STRING|LONG|DOUBLE|BOOLEAN"}],
 *              "time_field": "event_time"},
 *  "source": {"bootstrap": "host:port", "group_id": .., "bounded": false,
 *             "out_of_orderness_ms": .., "idle_ms": .., "future_bound_ms": ..},
 *  "views": [{"spec": ViewSpec.to_dict(), "row_logic": RowLogic.to_json() as an object}],
 *  "expiry_horizon_ms": null or epoch ms,
 *  "cassandra": {"&lt;view uid&gt;": {"contact_points": .., "local_datacenter": .., "keyspace": .., "statement": ..,
 *                "ttl_seconds": .., "valid_from_index": .., "version_index": .., "max_in_flight": .., "consistency": ..}}}
 * </pre>
 * A view's spec may hold {@code "freshness_slo": {"quantile": 0.99, "max_ms": 2000}}: its Cassandra sink
 * then exports it as a gauge ({@link io.skewless.flink.metrics.FreshnessSlo}).
 * Views are named by their uid ({@code <name>-v<version>}) and labelled {@code name@version} in
 * letters, side outputs and metrics. The operators are the ones the positional factories built
 * before (same functions, state descriptors, tags and metrics), so jobs restore from their checkpoints.
 *
 * <p>{@link #toString()} names the parts, never settings: nothing of the document is logged.
 */
public final class JobSpec {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One view of the document, as the operators take it. */
    private record View(String uid, String label, String entityKey, String keyField, String rowLogicJson,
            String[] inputColumns, long allowedLatenessMs, String[] featureNames, String[] ops, int[] inputIndex,
            long[] hopMs, int[] tiles, String[] params, ValueType[] valueTypes, FreshnessSlo freshnessSlo) {}

    private final String topic;
    private final JsonNode records;
    private final JsonNode source;
    private final Map<String, View> views;
    private final long expiryHorizonMs;
    private final Map<String, CassandraSinkConfig> sinks;

    private JobSpec(String topic, JsonNode records, JsonNode source, Map<String, View> views, long expiryHorizonMs,
            Map<String, CassandraSinkConfig> sinks) {
        this.topic = topic;
        this.records = records;
        this.source = source;
        this.views = views;
        this.expiryHorizonMs = expiryHorizonMs;
        this.sinks = sinks;
    }

    /**
     * @throws IllegalArgumentException naming the part and the problem (schemas, views and sinks are
     *     all checked here, on the client)
     */
    public static JobSpec fromJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the job spec is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("the job spec must be a JSON object");
        }
        String topic = root.path("topic").asText("");
        JsonNode records = present(root, "records");
        JsonNode source = present(root, "source");
        Map<String, View> views = new LinkedHashMap<>();
        for (JsonNode v : root.path("views")) {
            View view = view(v);
            if (views.put(view.uid, view) != null) {
                throw new IllegalArgumentException("view " + view.label + " is given twice");
            }
        }
        JsonNode horizon = root.path("expiry_horizon_ms");
        long expiry = horizon.isNull() || horizon.isMissingNode() ? TileAggregatorFunction.NO_HORIZON : horizon.asLong();
        Map<String, CassandraSinkConfig> sinks = new LinkedHashMap<>();
        root.path("cassandra").properties().forEach(e -> sinks.put(e.getKey(), sinkConfig(e.getKey(), e.getValue())));
        JobSpec spec = new JobSpec(topic, records, source, Collections.unmodifiableMap(views), expiry,
                Collections.unmodifiableMap(sinks));
        spec.validate();
        return spec;
    }

    private static JsonNode present(JsonNode root, String name) {
        JsonNode node = root.path(name);
        return node.isObject() ? node : null;
    }

    private static View view(JsonNode part) {
        JsonNode spec = part.path("spec");
        String name = spec.path("name").asText();
        long version = spec.path("version").asLong();
        String label = name + "@" + version;
        String entityKey = spec.path("entity_key").asText();
        JsonNode keyField = spec.path("key_field");
        ViewFeatures features = ViewFeatures.fromSpec(spec);
        TreeSet<String> columns = new TreeSet<>();
        for (String column : features.columns()) {
            if (column != null) {
                columns.add(column);
            }
        }
        List<String> inputColumns = new ArrayList<>(columns); // spec.input_columns: sorted, distinct
        int[] inputIndex = new int[features.ops().length];
        for (int i = 0; i < inputIndex.length; i++) {
            inputIndex[i] = features.columns()[i] == null ? -1 : inputColumns.indexOf(features.columns()[i]);
        }
        FreshnessSlo slo;
        try {
            slo = FreshnessSlo.fromSpec(spec);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("view " + label + ": " + e.getMessage(), e);
        }
        return new View(name + "-v" + version, label, entityKey,
                keyField.isNull() || keyField.isMissingNode() ? entityKey : keyField.asText(),
                part.path("row_logic").isMissingNode() ? null : part.path("row_logic").toString(),
                inputColumns.toArray(new String[0]), features.allowedLatenessMs(), features.names(), features.ops(),
                inputIndex, features.hopMs(), features.tiles(), features.params(), features.types(), slo);
    }

    private static CassandraSinkConfig sinkConfig(String uid, JsonNode s) {
        try {
            return new CassandraSinkConfig(s.path("contact_points").asText(null), s.path("local_datacenter").asText(null),
                    s.path("keyspace").asText(null), s.path("statement").asText(null), s.path("ttl_seconds").asLong(),
                    s.path("valid_from_index").asInt(-1), s.path("version_index").asInt(-1),
                    s.path("max_in_flight").asInt(0), s.path("consistency").asText(null));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cassandra sink of " + uid + ": " + e.getMessage(), e);
        }
    }

    /** Builds every operator the document describes once, so a bad part fails here, not on a task manager. */
    private void validate() {
        if (records != null) {
            stage("decode stage", this::decodeFunction);
            if (!views.isEmpty()) {
                stage("row-logic stage", this::viewEventsFunction);
            }
        }
        if (source != null) {
            stage("source of topic " + topic, () -> {
                requireRecords("the source");
                EventSource.checkWatermarks(source.path("out_of_orderness_ms").asLong(-1), source.path("idle_ms").asLong(0),
                        source.path("future_bound_ms").asLong(-1));
                return null;
            });
        }
        for (View v : views.values()) {
            aggregatorFunction(v);
        }
    }

    private static <T> T stage(String what, java.util.function.Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
        }
    }

    private void requireRecords(String who) {
        if (records == null) {
            throw new IllegalArgumentException(who + " needs the document's \"records\" part");
        }
    }

    private String[] schemaTexts() {
        requireRecords("decoding");
        List<String> out = new ArrayList<>();
        records.path("schemas").forEach(s -> out.add(s.asText()));
        return out.toArray(new String[0]);
    }

    private String[] fieldNames() {
        requireRecords("decoding");
        List<String> out = new ArrayList<>();
        records.path("fields").forEach(f -> out.add(f.path("name").asText()));
        return out.toArray(new String[0]);
    }

    private String[] fieldTypes() {
        requireRecords("decoding");
        List<String> out = new ArrayList<>();
        records.path("fields").forEach(f -> out.add(f.path("type").asText()));
        return out.toArray(new String[0]);
    }

    private String timeField() {
        requireRecords("decoding");
        return records.path("time_field").asText(null);
    }

    private DecodeRecordsFunction decodeFunction() {
        return DecodeRecordsFunction.create(schemaTexts(), fieldNames(), fieldTypes(), timeField());
    }

    private ViewEventsFunction viewEventsFunction() {
        ViewEventsFunction.Builder builder = ViewEventsFunction.builder(fieldNames(), timeField());
        for (View v : views.values()) {
            builder.view(v.label, v.keyField, v.rowLogicJson, v.inputColumns, v.allowedLatenessMs);
        }
        return builder.build();
    }

    private static TileAggregatorFunction aggregatorFunction(View v) {
        return TileAggregatorFunction.create(v.label, v.ops, v.inputIndex, v.hopMs, v.tiles, v.params,
                v.allowedLatenessMs, TileAggregatorFunction.NO_HORIZON);
    }

    private View view(String uid) {
        View v = views.get(uid);
        if (v == null) {
            throw new IllegalArgumentException("no view " + uid + " in the job spec; it has " + views.keySet());
        }
        return v;
    }

    /** The topic's decoded, watermarked records, read from Kafka ({@link EventSource}), named "kafka &lt;topic&gt;". */
    public DataStream<Row> source(StreamExecutionEnvironment env) {
        if (source == null) {
            throw new IllegalArgumentException("the job spec has no \"source\" part");
        }
        boolean bounded = source.path("bounded").asBoolean(false);
        return EventSource.read(env, source.path("bootstrap").asText(), topic, source.path("group_id").asText(), bounded,
                schemaTexts(), fieldNames(), fieldTypes(), timeField(), source.path("out_of_orderness_ms").asLong(),
                source.path("idle_ms").asLong(), source.path("future_bound_ms").asLong(), bounded, "kafka " + topic);
    }

    /** Raw records (value, topic, partition, offset) decoded as the source decodes what it reads. */
    public DataStream<Row> decodeRows(DataStream<Row> raw, long futureBoundMs) {
        return EventSource.decodeRows(raw, schemaTexts(), fieldNames(), fieldTypes(), timeField(), futureBoundMs);
    }

    /** The decode stage ({@link DecodeRecordsFunction}); its dead letters come from {@link #deadLetters}. */
    public SingleOutputStreamOperator<Row> decode(DataStream<Row> stream) {
        return decodeFunction().applyTo(stream);
    }

    /** The row-logic stage of every view ({@link ViewEventsFunction}): its main output is its dead letters. */
    public SingleOutputStreamOperator<Row> viewEvents(DataStream<Row> decoded) {
        return viewEventsFunction().applyTo(decoded);
    }

    /** One view's events from the stage {@link #viewEvents} returned. */
    public DataStream<Row> events(SingleOutputStreamOperator<Row> stage, String viewUid) {
        View v = view(viewUid);
        return stage.getSideOutput(ViewEventsFunction.eventsTag(v.label, v.inputColumns));
    }

    /** The decode stage's dead letters (side output {@link DeadLetters#tag()}). */
    public DataStream<Row> deadLetters(SingleOutputStreamOperator<Row> decodeStage) {
        return decodeStage.getSideOutput(DeadLetters.tag());
    }

    /** One view's events keyed by entity through its tile engine ({@link TileAggregatorFunction}). */
    public SingleOutputStreamOperator<Row> aggregate(String viewUid, DataStream<Row> events) {
        View v = view(viewUid);
        TileAggregatorFunction function = TileAggregatorFunction.create(v.label, v.ops, v.inputIndex, v.hopMs, v.tiles,
                v.params, v.allowedLatenessMs, expiryHorizonMs);
        return function.applyTo(events, updateType(v));
    }

    /** The dead letters of events the tile operator found too late (side output {@link TileAggregatorFunction#lateEventsTag()}). */
    public DataStream<Row> lateEvents(SingleOutputStreamOperator<Row> updates) {
        return updates.getSideOutput(TileAggregatorFunction.lateEventsTag());
    }

    /** A view's update rows: entity key, one value per feature (typed by the catalogue), valid_from, written_at, version. */
    public TypeInformation<Row> updateType(String viewUid) {
        return updateType(view(viewUid));
    }

    private static TypeInformation<Row> updateType(View v) {
        int n = v.featureNames.length;
        String[] names = new String[n + 4];
        TypeInformation<?>[] types = new TypeInformation<?>[n + 4];
        names[0] = v.entityKey;
        types[0] = Types.STRING;
        for (int i = 0; i < n; i++) {
            names[1 + i] = v.featureNames[i];
            types[1 + i] = switch (v.valueTypes[i]) {
                case LONG -> Types.LONG;
                case DOUBLE -> Types.DOUBLE;
                case LIST_DOUBLE -> Types.LIST(Types.DOUBLE);
            };
        }
        String[] tail = {"valid_from", "written_at", "version"};
        for (int i = 0; i < tail.length; i++) {
            names[n + 1 + i] = tail[i];
            types[n + 1 + i] = Types.LONG;
        }
        return Types.ROW_NAMED(names, types);
    }

    /**
     * The Cassandra sink the document's "cassandra" part holds under {@code name} (a view uid); the
     * view's sink measures its freshness under its label and exports its freshness SLO, if any.
     */
    public Sink<Row> cassandraSink(String name) {
        CassandraSinkConfig config = sinks.get(name);
        if (config == null) {
            throw new IllegalArgumentException("no cassandra sink " + name + " in the job spec; it has " + sinks.keySet());
        }
        View v = views.get(name);
        return v == null ? new CassandraUpsertSink(config, name, null) : new CassandraUpsertSink(config, v.label, v.freshnessSlo);
    }

    @Override
    public String toString() {
        return "JobSpec{topic=" + topic + ", views=" + views.keySet() + ", source=" + (source != null)
                + ", records=" + (records != null) + ", cassandra=" + sinks.keySet() + "}";
    }
}
