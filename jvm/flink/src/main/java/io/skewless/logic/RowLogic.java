package io.skewless.logic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The row logic of a view on the JVM: derived columns in order, then the filter, with the
 * semantics of docs/expressions.md (held to tests/conformance/expressions.json, as
 * skewless.expressions is). The parser and type checker are Python's; this reads the trees it
 * serializes with {@code RowLogic.to_json()}.
 *
 * <p>Record values are String, Long, Double, Boolean or null. Instances are immutable and
 * thread-safe.
 */
public final class RowLogic {
    static final int FORMAT_VERSION = 2;

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
            JsonNode doc = new ObjectMapper().readTree(json);
            if (doc.path("version").asInt() != FORMAT_VERSION) {
                throw new IllegalArgumentException("unsupported row logic version " + doc.get("version")
                        + "; this job reads version " + FORMAT_VERSION);
            }
            JsonNode columns = doc.get("derived");
            String[] names = new String[columns.size()];
            Expression[] derived = new Expression[columns.size()];
            for (int i = 0; i < names.length; i++) {
                names[i] = columns.get(i).get("name").textValue();
                derived[i] = Expression.fromJson(columns.get(i));
            }
            JsonNode filter = doc.get("filter");
            return new RowLogic(names, derived, filter == null || filter.isNull() ? null : Expression.fromJson(filter));
        } catch (JsonProcessingException | NullPointerException e) {
            throw new IllegalArgumentException("malformed row logic JSON: " + e.getMessage(), e);
        }
    }

    /** The names of the derived columns, in the order they are computed. */
    public List<String> derivedNames() {
        return List.of(names);
    }

    /**
     * The record plus its derived columns (a new map; the input is never changed, and comes back
     * as is when there are no derived columns), or null when the filter drops it.
     *
     * @throws RowLogicException when an expression fails on this record
     */
    public Map<String, Object> apply(Map<String, Object> record) {
        Map<String, Object> row = record;
        if (derived.length > 0) {
            row = new LinkedHashMap<>(record);
            for (int i = 0; i < derived.length; i++) {
                Expression e = derived[i];
                Object value = e.evaluate(row);
                if (value instanceof Double d && !Double.isFinite(d)) {
                    throw e.failure(new Failure("not_finite", "result", value));
                }
                row.put(names[i], value);
            }
        }
        if (filter != null) {
            Object keep = filter.evaluate(row);
            if (!(keep instanceof Boolean)) {
                throw filter.failure(Failure.refuse("filter", keep));
            }
            if (!(Boolean) keep) {
                return null;
            }
        }
        return row;
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

        static Expression fromJson(JsonNode json) {
            return new Expression(json.get("what").textValue(), json.get("source").textValue(), Node.fromJson(json.get("tree")));
        }

        Object evaluate(Map<String, Object> row) {
            try {
                return root.eval(row);
            } catch (Failure f) {
                throw failure(f);
            }
        }

        RowLogicException failure(Failure f) {
            return new RowLogicException(f.code, what + " \"" + source + "\": row_logic." + f.code + ": " + f.detail());
        }
    }
}
