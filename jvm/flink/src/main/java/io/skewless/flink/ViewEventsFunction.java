package io.skewless.flink;

import io.skewless.logic.RowLogic;
import io.skewless.logic.RowLogicException;
import io.skewless.logic.Values;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The row-logic stage of a topic: every view's row logic on each decoded record (the rows of
 * {@link DecodeRecordsFunction}), in one operator, so a record makes at most one dead letter.
 *
 * <p>Per view: entity key check, derived columns and filter ({@link RowLogic}, the trees Python's
 * parser compiled), the view's numeric inputs, then the allowed lateness against this operator's
 * watermark. Watermarks flow in order with records, so the keyed tile operator downstream never has
 * a higher watermark for the same record than this one: an event accepted here is never too late
 * there ({@link TileAggregatorFunction} keeps its check as a safety net).
 *
 * <p>Outputs: each view's events go to its side output {@link #eventsTag(String)}: (key STRING,
 * event_time LONG, one DOUBLE per input column, topic STRING, partition INT, offset LONG), the input
 * of {@link TileAggregatorFunction}. The main output is the stage's dead letters
 * ({@link DeadLetters#type()}): one per record that any view refused, naming every such view with
 * its reason and code ({@value #MISSING_KEY}, {@value #ROW_LOGIC}, {@value #NOT_A_NUMBER},
 * {@value LateEventLetter#CODE}), stage {@value #STAGE}. A record the filter drops is no letter.
 *
 * <p>Metrics, per view under {@code view=<name@version>}: {@value #EVENTS_IN}, {@value #FILTERED},
 * {@value #LATE_EVENTS}, and {@value #DEAD_LETTERS} under {@code reason_code=<code>}; for the
 * operator, {@value #LETTERS} (letters written, one per refused record). Events in, late events and
 * dead letters also count into the job's accumulators {@code <name@version>|events_in},
 * {@code |late_events} and {@code |dead_letters|<code>} ({@link ResultCounter}).
 */
public final class ViewEventsFunction extends ProcessFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    public static final String STAGE = "logic";
    public static final String EVENTS_TAG_PREFIX = "view-events ";
    public static final String MISSING_KEY = "missing_key";
    public static final String ROW_LOGIC = "row_logic";
    public static final String NOT_A_NUMBER = "not_a_number";
    public static final String VIEW_GROUP = "view";
    public static final String REASON_CODE_GROUP = "reason_code";
    public static final String EVENTS_IN = "events_in";
    public static final String FILTERED = "events_filtered_out";
    public static final String LATE_EVENTS = "late_events";
    public static final String DEAD_LETTERS = "dead_letters";
    public static final String LETTERS = "dead_letters_logic";
    // Fields of a decoded row after the record's own: value, topic, partition, offset.
    private static final int TRAILER = 4;

    /** One view's part of the stage: plain, serializable config. */
    private record View(String label, String keyField, String rowLogicJson, String[] inputColumns,
            long allowedLatenessMs) implements Serializable {}

    /** One view's part at run time. */
    private static final class Running {
        final View view;
        final RowLogic logic;
        final OutputTag<Row> tag;
        final MetricGroup metrics;
        final Counter in;
        final Counter filtered;
        final Counter late;
        final Map<String, Counter> dead = new HashMap<>();
        final RuntimeContext context;

        Running(View view, RuntimeContext context) {
            this.view = view;
            this.logic = RowLogic.fromJson(view.rowLogicJson);
            this.tag = eventsTag(view.label, view.inputColumns);
            this.metrics = context.getMetricGroup().addGroup(VIEW_GROUP, view.label);
            this.in = ResultCounter.register(context, metrics, EVENTS_IN, view.label, EVENTS_IN);
            this.filtered = metrics.counter(FILTERED);
            this.late = ResultCounter.register(context, metrics, LATE_EVENTS, view.label, LATE_EVENTS);
            this.context = context;
        }

        DeadLetters.Rejection reject(String code, String reason) {
            dead.computeIfAbsent(code, c -> ResultCounter.register(context, metrics.addGroup(REASON_CODE_GROUP, c),
                    DEAD_LETTERS, view.label, DEAD_LETTERS, c)).inc();
            return new DeadLetters.Rejection(view.label, code, reason);
        }
    }

    private final String[] fieldNames;
    private final String timeField;
    private final View[] views;

    private transient Running[] running;
    private transient Counter letters;

    private ViewEventsFunction(String[] fieldNames, String timeField, View[] views) {
        this.fieldNames = fieldNames.clone();
        this.timeField = timeField;
        this.views = views.clone();
    }

    /**
     * @param fieldNames the decoded record's fields, in row order (jobs.rows.record_fields)
     * @param timeField the event-time field (epoch ms), the same for every view of the topic
     */
    static Builder builder(String[] fieldNames, String timeField) {
        if (fieldNames == null || timeField == null || !List.of(fieldNames).contains(timeField)) {
            throw new IllegalArgumentException("the event time field " + timeField + " is not a decoded field "
                    + (fieldNames == null ? "[]" : List.of(fieldNames)));
        }
        return new Builder(fieldNames, timeField);
    }

    /** Collects the views of one topic; each {@link #view} validates its input at once. */
    public static final class Builder {
        private final String[] fieldNames;
        private final String timeField;
        private final List<View> views = new ArrayList<>();

        private Builder(String[] fieldNames, String timeField) {
            this.fieldNames = fieldNames.clone();
            this.timeField = timeField;
        }

        /**
         * @param label "name@version": the letters' view names, the side output's and metrics' key
         * @param keyField the source field holding the entity key
         * @param rowLogicJson skewless.expressions.RowLogic.to_json() of the view
         * @param inputColumns spec.input_columns: source fields or derived columns
         * @param allowedLatenessMs spec.allowed_lateness_ms
         * @throws IllegalArgumentException naming the view and the problem
         */
        public Builder view(String label, String keyField, String rowLogicJson, String[] inputColumns,
                long allowedLatenessMs) {
            if (label == null || label.isBlank()) {
                throw new IllegalArgumentException("viewLabel (name@version) is required");
            }
            if (views.stream().anyMatch(v -> v.label.equals(label))) {
                throw new IllegalArgumentException("view " + label + " is given twice");
            }
            if (keyField == null || inputColumns == null) {
                throw new IllegalArgumentException("view " + label + ": keyField and inputColumns are required");
            }
            if (!List.of(fieldNames).contains(keyField)) {
                throw new IllegalArgumentException("view " + label + ": " + keyField + " is not a decoded field "
                        + List.of(fieldNames));
            }
            if (allowedLatenessMs < 0) {
                throw new IllegalArgumentException("view " + label + ": allowed lateness must be >= 0, got "
                        + allowedLatenessMs);
            }
            try {
                RowLogic.fromJson(rowLogicJson); // validates; rebuilt in open()
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("view " + label + ": " + e.getMessage(), e);
            }
            views.add(new View(label, keyField, rowLogicJson, inputColumns.clone(), allowedLatenessMs));
            return this;
        }

        public ViewEventsFunction build() {
            if (views.isEmpty()) {
                throw new IllegalArgumentException("the row-logic stage needs at least one view");
            }
            return new ViewEventsFunction(fieldNames, timeField, views.toArray(new View[0]));
        }
    }

    /** The side output of one view's events; its id is {@value #EVENTS_TAG_PREFIX} + label. */
    static OutputTag<Row> eventsTag(String label, String[] inputColumns) {
        int n = inputColumns.length;
        String[] names = new String[n + 5];
        TypeInformation<?>[] types = new TypeInformation<?>[n + 5];
        names[0] = "key";
        types[0] = Types.STRING;
        names[1] = "event_time";
        types[1] = Types.LONG;
        for (int i = 0; i < n; i++) {
            names[2 + i] = inputColumns[i];
            types[2 + i] = Types.DOUBLE;
        }
        names[n + 2] = "topic";
        types[n + 2] = Types.STRING;
        names[n + 3] = "partition";
        types[n + 3] = Types.INT;
        names[n + 4] = "offset";
        types[n + 4] = Types.LONG;
        return new OutputTag<>(EVENTS_TAG_PREFIX + label, Types.ROW_NAMED(names, types));
    }

    /** The side output of the view labelled {@code label} (jobs.rows.event_type of its spec). */
    public OutputTag<Row> eventsTag(String label) {
        for (View v : views) {
            if (v.label.equals(label)) {
                return eventsTag(label, v.inputColumns);
            }
        }
        throw new IllegalArgumentException("no view " + label + " in this stage");
    }

    /** decoded through this stage: its main output, the dead letters; views' events via {@link #eventsOf}. */
    public SingleOutputStreamOperator<Row> applyTo(DataStream<Row> decoded) {
        return decoded.process(this, DeadLetters.type());
    }

    /** The events of one view from the stage {@link #applyTo} returned. */
    public DataStream<Row> eventsOf(SingleOutputStreamOperator<Row> stage, String label) {
        return stage.getSideOutput(eventsTag(label));
    }

    @Override
    public void open(OpenContext openContext) {
        MetricGroup group = getRuntimeContext().getMetricGroup();
        running = new Running[views.length];
        for (int i = 0; i < views.length; i++) {
            running[i] = new Running(views[i], getRuntimeContext());
        }
        letters = group.counter(LETTERS);
    }

    @Override
    public void processElement(Row value, Context ctx, Collector<Row> out) {
        int arity = value.getArity();
        Object topic = value.getField(arity - 3);
        Object partition = value.getField(arity - 2);
        Object offset = value.getField(arity - 1);
        Map<String, Object> record = new HashMap<>(fieldNames.length * 2);
        for (int i = 0; i < fieldNames.length; i++) {
            record.put(fieldNames[i], value.getField(i));
        }
        long watermark = ctx.timerService().currentWatermark();
        List<DeadLetters.Rejection> rejections = null;
        for (Running view : running) {
            view.in.inc();
            DeadLetters.Rejection rejection = evaluate(view, record, watermark, topic, partition, offset, ctx);
            if (rejection != null) {
                if (rejections == null) {
                    rejections = new ArrayList<>(running.length);
                }
                rejections.add(rejection);
            }
        }
        if (rejections != null) {
            letters.inc();
            byte[] raw = (byte[]) value.getField(arity - TRAILER);
            out.collect(DeadLetters.of(raw, STAGE, rejections, topic, partition, offset));
        }
    }

    /** One view on one record: its event to its side output, or why it refuses the record (null when it does not). */
    private DeadLetters.Rejection evaluate(Running view, Map<String, Object> record, long watermark, Object topic,
            Object partition, Object offset, Context ctx) {
        View spec = view.view;
        Object key = record.get(spec.keyField);
        if (key == null || (key instanceof String && isBlank((String) key))) {
            return view.reject(MISSING_KEY, "missing entity key '" + spec.keyField + "'");
        }
        Map<String, Object> row;
        try {
            row = view.logic.apply(record);
        } catch (RowLogicException e) {
            return view.reject(ROW_LOGIC, e.reason());
        }
        if (row == null) {
            view.filtered.inc();
            return null;
        }
        String[] columns = spec.inputColumns;
        Row event = new Row(columns.length + 5);
        event.setField(0, String.valueOf(key)); // a string or a long: the plan allows no other key type
        Object eventTime = row.get(timeField);
        event.setField(1, eventTime);
        for (int i = 0; i < columns.length; i++) {
            Object v = row.get(columns[i]);
            if (!(v instanceof Long || v instanceof Double)) {
                return view.reject(NOT_A_NUMBER, "input column '" + columns[i] + "' is " + kind(v) + ", not a number");
            }
            event.setField(2 + i, ((Number) v).doubleValue());
        }
        long time = ((Number) eventTime).longValue();
        if (!LateEventLetter.accepts(time, watermark, spec.allowedLatenessMs)) {
            view.late.inc();
            return view.reject(LateEventLetter.CODE, LateEventLetter.reason(time, watermark, spec.allowedLatenessMs));
        }
        event.setField(columns.length + 2, topic);
        event.setField(columns.length + 3, partition);
        event.setField(columns.length + 4, offset);
        ctx.output(view.tag, event);
        return null;
    }

    /** Empty or only ASCII whitespace (space, tab, LF, VT, FF, CR): a key nobody could look up. */
    static boolean isBlank(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != ' ' && (c < '\t' || c > '\r')) {
                return false;
            }
        }
        return true;
    }

    /** What a non-numeric input is, for the dead letter's reason (never the value: it may be personal data). */
    static String kind(Object v) {
        return v == null ? "null" : "a " + Values.typeName(v);
    }
}
