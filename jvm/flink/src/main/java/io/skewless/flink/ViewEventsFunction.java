package io.skewless.flink;

import io.skewless.logic.PyValues;
import io.skewless.logic.RowLogic;
import io.skewless.logic.RowLogicException;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * One view's row logic on decoded records (the rows of {@link DecodeRecordsFunction}): entity key
 * check, derived columns and filter ({@link RowLogic}, the trees Python's parser compiled), then
 * the view's numeric inputs.
 *
 * <p>Output: (key STRING, event_time LONG, one DOUBLE per input column, topic STRING, partition
 * INT, offset LONG), the input of {@link TileAggregatorFunction}. A record that fails goes to the
 * dead-letter side output with the reason, stage "logic" and the view's name@version; one the
 * filter drops is counted ({@code events_filtered_out}).
 */
public final class ViewEventsFunction extends ProcessFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    public static final String STAGE = "logic";
    // Fields of a decoded row after the record's own: value, topic, partition, offset.
    private static final int TRAILER = 4;

    private final String viewLabel;
    private final String[] fieldNames;
    private final String keyField;
    private final String timeField;
    private final String rowLogicJson;
    private final String[] inputColumns;

    private transient RowLogic logic;
    private transient OutputTag<Row> deadTag;
    private transient Counter dead;
    private transient Counter filtered;

    private ViewEventsFunction(String viewLabel, String[] fieldNames, String keyField, String timeField,
            String rowLogicJson, String[] inputColumns) {
        this.viewLabel = viewLabel;
        this.fieldNames = fieldNames.clone();
        this.keyField = keyField;
        this.timeField = timeField;
        this.rowLogicJson = rowLogicJson;
        this.inputColumns = inputColumns.clone();
    }

    /**
     * @param viewLabel "name@version", the dead letters' skewless.view header
     * @param fieldNames the decoded record's fields, in row order (udfs.decode.record_fields)
     * @param keyField the source field holding the entity key
     * @param timeField the event-time field (epoch ms)
     * @param rowLogicJson skewless.expressions.RowLogic.to_json() of the view
     * @param inputColumns spec.input_columns: source fields or derived columns
     */
    public static ViewEventsFunction create(String viewLabel, String[] fieldNames, String keyField, String timeField,
            String rowLogicJson, String[] inputColumns) {
        if (viewLabel == null || viewLabel.isBlank()) {
            throw new IllegalArgumentException("viewLabel (name@version) is required");
        }
        if (fieldNames == null || inputColumns == null || keyField == null || timeField == null) {
            throw new IllegalArgumentException("view " + viewLabel + ": fieldNames, keyField, timeField and inputColumns are required");
        }
        java.util.List<String> fields = java.util.List.of(fieldNames);
        for (String f : new String[] {keyField, timeField}) {
            if (!fields.contains(f)) {
                throw new IllegalArgumentException("view " + viewLabel + ": " + f + " is not a decoded field " + fields);
            }
        }
        try {
            RowLogic.fromJson(rowLogicJson); // validates; rebuilt in open()
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("view " + viewLabel + ": " + e.getMessage(), e);
        }
        return new ViewEventsFunction(viewLabel, fieldNames, keyField, timeField, rowLogicJson, inputColumns);
    }

    @Override
    public void open(OpenContext openContext) {
        logic = RowLogic.fromJson(rowLogicJson);
        deadTag = DeadLetters.tag();
        dead = getRuntimeContext().getMetricGroup().counter("dead_letters_logic");
        filtered = getRuntimeContext().getMetricGroup().counter("events_filtered_out");
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
        Row event;
        try {
            Object key = record.get(keyField);
            if (key == null || (key instanceof String && PyValues.isBlank((String) key))) {
                throw new RowLogicException("missing entity key " + PyValues.repr(keyField));
            }
            Map<String, Object> row = logic.apply(record);
            if (row == null) {
                filtered.inc();
                return;
            }
            event = new Row(inputColumns.length + 5);
            event.setField(0, PyValues.str(key));
            event.setField(1, row.get(timeField));
            for (int i = 0; i < inputColumns.length; i++) {
                Object v = row.get(inputColumns[i]);
                if (!(v instanceof Long || v instanceof Double)) {
                    throw new RowLogicException(
                            "input column " + PyValues.repr(inputColumns[i]) + " is " + PyValues.repr(v) + ", not a number");
                }
                event.setField(2 + i, ((Number) v).doubleValue());
            }
        } catch (RowLogicException e) {
            dead.inc();
            byte[] raw = (byte[]) value.getField(arity - TRAILER);
            ctx.output(deadTag, DeadLetters.of(raw, e.reason(), STAGE, topic, partition, offset, viewLabel));
            return;
        }
        event.setField(inputColumns.length + 2, topic);
        event.setField(inputColumns.length + 3, partition);
        event.setField(inputColumns.length + 4, offset);
        out.collect(event);
    }
}
