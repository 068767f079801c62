package io.skewless.logic;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The row logic of a view on the JVM: derived columns in order, then the filter, evaluated with
 * Python 3.11's semantics so results equal skewless.expressions.RowLogic's (the parser, type
 * checker and test oracle stay in Python; this reads the trees it serializes with
 * {@code RowLogic.to_json()}).
 *
 * <p>Record values are String, Long, Double, Boolean or null. Instances are immutable and
 * thread-safe.
 */
public final class RowLogic {
    private final String[] names;
    private final Expression[] derived;
    private final Expression filter; // null: keep every record

    private RowLogic(String[] names, Expression[] derived, Expression filter) {
        this.names = names;
        this.derived = derived;
        this.filter = filter;
    }

    /** Reads the JSON of Python's {@code RowLogic.to_json()}; IllegalArgumentException if malformed. */
    public static RowLogic fromJson(String json) {
        try {
            Map<?, ?> doc = (Map<?, ?>) Json.parse(json);
            if (!Long.valueOf(1).equals(doc.get("version"))) {
                throw new IllegalArgumentException("unsupported row logic version " + doc.get("version"));
            }
            List<?> columns = (List<?>) doc.get("derived");
            String[] names = new String[columns.size()];
            Expression[] derived = new Expression[columns.size()];
            for (int i = 0; i < names.length; i++) {
                Map<?, ?> column = (Map<?, ?>) columns.get(i);
                names[i] = (String) column.get("name");
                derived[i] = Expression.fromJson(column);
            }
            Object filter = doc.get("filter");
            return new RowLogic(names, derived, filter == null ? null : Expression.fromJson((Map<?, ?>) filter));
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException("malformed row logic JSON: " + e.getMessage(), e);
        }
    }

    /** The names of the derived columns, in the order they are computed. */
    public List<String> derivedNames() {
        return Collections.unmodifiableList(new ArrayList<>(List.of(names)));
    }

    /**
     * The record plus its derived columns (a new map; the input is never changed, and comes back
     * as is when there are no derived columns), or null when the filter drops it.
     *
     * @throws RowLogicException when an expression fails on this record, with Python's reason
     */
    public Map<String, Object> apply(Map<String, Object> record) {
        Map<String, Object> row = record;
        if (derived.length > 0) {
            row = new LinkedHashMap<>(record);
            for (int i = 0; i < derived.length; i++) {
                Expression e = derived[i];
                Object value = e.evaluate(row);
                if (value instanceof Double && !Double.isFinite((Double) value)) {
                    throw e.failure(" is " + Text.floatRepr((Double) value) + ", not a finite number");
                }
                if (value instanceof BigInteger) { // ints are Long whenever they fit
                    throw e.failure(" is " + intText((BigInteger) value) + ", outside the 64-bit range");
                }
                row.put(names[i], value);
            }
        }
        if (filter != null && !Py.truthy(filter.evaluate(row))) {
            return null;
        }
        return row;
    }

    private static String intText(BigInteger value) {
        try {
            return Text.intText(value);
        } catch (PyError tooLong) {
            return "a " + value.abs().bitLength() + "-bit integer"; // as skewless.expressions._int_text
        }
    }

    /** One parsed expression with the names its reasons carry ("filter", "derived column 'x'"). */
    private static final class Expression {
        private final String what;
        private final String source;
        private final Node root;

        private Expression(String what, String source, Node root) {
            this.what = what;
            this.source = source;
            this.root = root;
        }

        static Expression fromJson(Map<?, ?> json) {
            return new Expression((String) json.get("what"), (String) json.get("source"), Node.fromJson(json.get("tree")));
        }

        Object evaluate(Map<String, Object> row) {
            try {
                return root.eval(row);
            } catch (PyError e) {
                throw failure(": " + e.getMessage());
            }
        }

        RowLogicException failure(String tail) {
            return new RowLogicException(what + " \"" + source + "\"" + tail);
        }
    }
}
