package io.skewless.flink;

import io.skewless.engine.EntityState;
import io.skewless.engine.TileEngine;
import io.skewless.engine.Update;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.flink.types.Row;

/**
 * The keyed operator of a view ({@link JobSpec#aggregate}): tiled windows in keyed state,
 * driven by events and event-time expiry timers, on the Java engine ({@link TileEngine}).
 *
 * <p>Input: a view event row (key STRING, event_time LONG, one DOUBLE per input column, topic STRING,
 * partition INT, offset LONG), keyed by field 0 ({@link RowFieldKey}). Output: (key, one value per
 * feature, valid_from LONG, written_at LONG, version LONG) with version = valid_from * 1000 +
 * min(revision, 999). Events behind the allowed lateness go to {@link #lateEventsTag()} as dead
 * letters, counted by {@value #LATE_EVENTS_METRIC}: a safety net, since {@link ViewEventsFunction}
 * refuses them upstream, at a watermark never behind this operator's. State: one {@link EntityState} per key named "tiles", kept as a live object on the heap
 * backend and encoded only for snapshots ({@link EntityStateSerializer}).
 *
 * <p>Metrics, under {@code view=<name@version>}: {@value #UPDATES_OUT} (a counter, also the
 * accumulator {@code <name@version>|updates_out} of the job's result, {@link ResultCounter}),
 * {@value #NEWEST_EVENT_TIME} (gauge: the newest event time this subtask has seen, epoch ms; none
 * before its first event), {@value #EVENT_TIME_LAG} (gauge: the wall clock minus that, ms) and
 * {@value #CHECKPOINT_AGE} (gauge: seconds since this subtask last heard that a checkpoint of the job
 * completed, or since it opened: a job that never completes one shows a growing age, not 0). The age is measured here, per view, because Flink's own job
 * metrics give the last checkpoint's duration and counts but no completion time.
 */
public final class TileAggregatorFunction extends KeyedProcessFunction<String, Row, Row> implements CheckpointListener {
    private static final long serialVersionUID = 1L;

    public static final String LATE_EVENTS = "late-events";
    public static final String STATE_NAME = "tiles";
    public static final String LATE_EVENTS_METRIC = "late_events";
    public static final String UPDATES_OUT = "updates_out";
    public static final String NEWEST_EVENT_TIME = "newest_event_time_ms";
    public static final String EVENT_TIME_LAG = "event_time_lag_ms";
    public static final String CHECKPOINT_AGE = "checkpoint_age_seconds";
    /** Cassandra's USING TIMESTAMP: microseconds of valid_from, the low three digits carry the revision. */
    public static final long VERSION_SCALE = 1000;
    public static final int MAX_REVISION = 999;
    /** Pass as expiryHorizonMs for no horizon (-1 is accepted too). */
    public static final long NO_HORIZON = Long.MIN_VALUE;
    // Fields of an event row after the inputs: topic, partition, offset.
    private static final int TRAILER = 3;

    private final String viewLabel;
    private final String[] ops;
    private final int[] inputIndex;
    private final long[] hopMs;
    private final int[] tiles;
    private final String[] params;
    private final long allowedLatenessMs;
    private final long expiryHorizonMs;

    private transient TileEngine engine;
    private transient ValueState<EntityState> state;
    private transient Counter lateEvents;
    private transient Counter updatesOut;
    // Written by the task thread, read by the metrics reporter's.
    private transient volatile long newestEventTime;
    // Set by checkpoint notifications on the task thread (and open()), read by the reporter's.
    private transient volatile long lastCheckpointMs;
    private transient OutputTag<Row> lateTag;
    private transient boolean arityChecked;
    private transient boolean identityChecked;
    private transient boolean stateHoldsObjects;

    private TileAggregatorFunction(String viewLabel, String[] ops, int[] inputIndex, long[] hopMs, int[] tiles,
            String[] params, long allowedLatenessMs, long expiryHorizonMs) {
        this.viewLabel = viewLabel;
        this.ops = ops.clone();
        this.inputIndex = inputIndex.clone();
        this.hopMs = hopMs.clone();
        this.tiles = tiles.clone();
        this.params = params.clone();
        this.allowedLatenessMs = allowedLatenessMs;
        this.expiryHorizonMs = expiryHorizonMs;
    }

    /**
     * The operator of one view, from its compiled spec as plain arrays, one entry per feature.
     *
     * @param viewLabel "name@version", the dead letters' skewless.view header
     * @param ops operation names (the operation catalogue, skewless.operations)
     * @param inputIndex the feature's input column in spec.input_columns, -1 for count without one
     * @param hopMs the hop in ms, 0 for a lifetime window
     * @param tiles window / hop (1 for lifetime)
     * @param params the operation's parameters as a flat JSON object ({@code json.dumps(f.param)}) or
     *     {@code k=v,k=v}; null or "" for none. The array itself may be null when no feature has any.
     * @param allowedLatenessMs spec.allowed_lateness_ms
     * @param expiryHorizonMs the epoch ms where tile expiry stops; {@link #NO_HORIZON} or -1 for none
     * @throws IllegalArgumentException naming the feature and the problem
     */
    static TileAggregatorFunction create(String viewLabel, String[] ops, int[] inputIndex, long[] hopMs,
            int[] tiles, String[] params, long allowedLatenessMs, long expiryHorizonMs) {
        if (viewLabel == null || viewLabel.isBlank()) {
            throw new IllegalArgumentException("viewLabel (name@version) is required");
        }
        if (ops == null || ops.length == 0) {
            throw new IllegalArgumentException("view " + viewLabel + ": at least one operation is required");
        }
        int n = ops.length;
        checkLength(viewLabel, "inputIndex", inputIndex == null ? -1 : inputIndex.length, n);
        checkLength(viewLabel, "hopMs", hopMs == null ? -1 : hopMs.length, n);
        checkLength(viewLabel, "tiles", tiles == null ? -1 : tiles.length, n);
        String[] parameters = params == null ? new String[n] : params;
        checkLength(viewLabel, "params", parameters.length, n);
        for (int i = 0; i < n; i++) {
            if (inputIndex[i] < -1 || (inputIndex[i] == -1 && !"count".equals(ops[i]))) {
                throw new IllegalArgumentException("view " + viewLabel + ": feature #" + i + " (" + ops[i]
                        + ") needs an input column index >= 0, got " + inputIndex[i]);
            }
        }
        if (expiryHorizonMs < 0 && expiryHorizonMs != NO_HORIZON && expiryHorizonMs != -1) {
            throw new IllegalArgumentException("view " + viewLabel + ": expiry horizon must be an epoch ms >= 0, or "
                    + NO_HORIZON + " / -1 for none, got " + expiryHorizonMs);
        }
        long horizon = expiryHorizonMs < 0 ? TileEngine.NONE : expiryHorizonMs;
        try {
            TileEngine.of(ops, hopMs, tiles, parameters, allowedLatenessMs, horizon); // validates; rebuilt in open()
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("view " + viewLabel + ": " + e.getMessage(), e);
        }
        return new TileAggregatorFunction(viewLabel, ops, inputIndex, hopMs, tiles, parameters, allowedLatenessMs, horizon);
    }

    private static void checkLength(String view, String name, int length, int expected) {
        if (length != expected) {
            throw new IllegalArgumentException("view " + view + ": " + name + " has "
                    + (length < 0 ? "no" : String.valueOf(length)) + " entries, expected one per operation (" + expected + ")");
        }
    }

    /** The side output of late events, the same id ("late-events") as jobs.rows.LATE_EVENTS. */
    public static OutputTag<Row> lateEventsTag() {
        return new OutputTag<>(LATE_EVENTS, DeadLetters.type());
    }

    /** events keyed by entity key, through this operator. */
    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> events, TypeInformation<Row> outputType) {
        return events.keyBy(new RowFieldKey(), Types.STRING).process(this, outputType);
    }

    @Override
    public void open(OpenContext openContext) {
        engine = TileEngine.of(ops, hopMs, tiles, params, allowedLatenessMs, expiryHorizonMs);
        state = getRuntimeContext().getState(new ValueStateDescriptor<>(STATE_NAME, EntityStateSerializer.INSTANCE));
        lateEvents = getRuntimeContext().getMetricGroup().counter(LATE_EVENTS_METRIC);
        lateTag = lateEventsTag();
        MetricGroup view = getRuntimeContext().getMetricGroup().addGroup(ViewEventsFunction.VIEW_GROUP, viewLabel);
        updatesOut = ResultCounter.register(getRuntimeContext(), view, UPDATES_OUT, viewLabel, UPDATES_OUT);
        newestEventTime = Long.MIN_VALUE;
        view.gauge(NEWEST_EVENT_TIME, (Gauge<Long>) () -> newestEventTime == Long.MIN_VALUE ? null : newestEventTime);
        view.gauge(EVENT_TIME_LAG, (Gauge<Long>) () -> newestEventTime == Long.MIN_VALUE
                ? null
                : System.currentTimeMillis() - newestEventTime);
        lastCheckpointMs = System.currentTimeMillis();
        view.gauge(CHECKPOINT_AGE, (Gauge<Double>) () -> (System.currentTimeMillis() - lastCheckpointMs) / 1000.0);
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        lastCheckpointMs = System.currentTimeMillis();
    }

    @Override
    public void processElement(Row value, Context ctx, Collector<Row> out) throws Exception {
        checkArity(value);
        int arity = value.getArity();
        long eventTime = ((Number) value.getField(1)).longValue();
        if (eventTime > newestEventTime) {
            newestEventTime = eventTime;
        }
        long watermark = ctx.timerService().currentWatermark();
        if (!engine.accepts(eventTime, watermark)) {
            lateEvents.inc();
            ctx.output(lateTag, LateEventLetter.of(viewLabel, (String) value.getField(0), eventTime, watermark,
                    allowedLatenessMs, value.getField(arity - 3), value.getField(arity - 2), value.getField(arity - 1)));
            return;
        }
        EntityState stored = state.value();
        EntityState entity = stored == null ? engine.newState() : stored;
        List<Update> updates = engine.onEvent(entity, eventTime, inputs(value), watermark);
        emit(entity, updates, stored == null, ctx, out);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Row> out) throws Exception {
        EntityState entity = state.value();
        if (entity == null) {
            return;
        }
        List<Update> updates = engine.onTimer(entity, timestamp, ctx.timerService().currentWatermark());
        emit(entity, updates, false, ctx, out);
    }

    private double[] inputs(Row value) {
        double[] inputs = new double[inputIndex.length];
        for (int i = 0; i < inputs.length; i++) {
            if (inputIndex[i] < 0 || "count".equals(ops[i])) {
                continue; // count reads no value
            }
            Object v = value.getField(2 + inputIndex[i]);
            if (v == null) {
                throw new IllegalStateException("view " + viewLabel + ": feature #" + i + " (" + ops[i]
                        + ") got a null input at field " + (2 + inputIndex[i]));
            }
            inputs[i] = ((Number) v).doubleValue();
        }
        return inputs;
    }

    private void checkArity(Row value) {
        if (arityChecked) {
            return;
        }
        int needed = 2 + TRAILER;
        for (int index : inputIndex) {
            needed = Math.max(needed, 2 + index + 1 + TRAILER);
        }
        if (value.getArity() < needed) {
            throw new IllegalArgumentException("view " + viewLabel + ": event rows have " + value.getArity()
                    + " fields, the features need at least " + needed
                    + " (key, event_time, inputs, topic, partition, offset)");
        }
        arityChecked = true;
    }

    private void emit(EntityState entity, List<Update> updates, boolean created, Context ctx, Collector<Row> out)
            throws Exception {
        long wake = engine.nextTimer(entity);
        if (wake != TileEngine.NONE && wake != entity.timer()) {
            ctx.timerService().registerEventTimeTimer(wake);
            entity.setTimer(wake);
        }
        if (created || !stateHoldsObjects) {
            state.update(entity);
            if (created && !identityChecked) {
                // A backend that hands back the stored instance (heap) sees every change made to
                // it; its copy-on-write snapshots copy before handing out. Others (RocksDB)
                // deserialize a copy, so every change must be written back.
                stateHoldsObjects = state.value() == entity;
                identityChecked = true;
            }
        }
        String key = ctx.getCurrentKey();
        long now = System.currentTimeMillis();
        int features = engine.featureCount();
        for (Update u : updates) {
            Row row = new Row(features + 4);
            row.setField(0, key);
            for (int i = 0; i < features; i++) {
                row.setField(1 + i, u.values[i]);
            }
            row.setField(features + 1, u.validFrom);
            row.setField(features + 2, now);
            row.setField(features + 3, version(u.validFrom, u.revision));
            out.collect(row);
        }
        updatesOut.inc(updates.size());
    }

    /** valid_from * 1000 + min(revision, 999); overflow fails loudly rather than reorder versions. */
    public static long version(long validFrom, int revision) {
        return Math.addExact(Math.multiplyExact(validFrom, VERSION_SCALE), Math.min(revision, MAX_REVISION));
    }
}
