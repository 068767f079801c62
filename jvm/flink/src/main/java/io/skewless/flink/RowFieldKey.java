package io.skewless.flink;

import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.types.Row;

/** Keys a view's event rows by their entity key, field 0, so keying needs no Python. */
public final class RowFieldKey implements KeySelector<Row, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String getKey(Row row) {
        return (String) row.getField(0);
    }
}
