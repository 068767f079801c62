package io.skewless.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The operation catalogue, read from the jar's {@value #RESOURCE}: the export of Python's
 * skewless.operations ({@code python -m skewless.operations}), so names, value types, parameters,
 * defaults and ranges are written once, there.
 */
public final class Catalogue {
    public static final String RESOURCE = "/io/skewless/engine/operations.json";
    public static final int FORMAT = 1;

    /** One parameter: an integer or a number in [lo, hi]; {@code defaultValue} null means required. */
    public record Param(String name, boolean integer, Number defaultValue, Number lo, Number hi) {}

    /** One operation as the catalogue states it. */
    public record Operation(String name, List<String> inputs, boolean needsColumn, ValueType valueType,
            String cqlType, List<Param> params) {
        /** The parameter names, sorted (how an unknown parameter's message lists them). */
        public List<String> paramNames() {
            return params.stream().map(Param::name).sorted().toList();
        }
    }

    private static final Catalogue INSTANCE = load();

    private final Map<String, Operation> operations;

    private Catalogue(Map<String, Operation> operations) {
        this.operations = Collections.unmodifiableMap(operations);
    }

    public static Catalogue get() {
        return INSTANCE;
    }

    /** The operations, in the catalogue's order. */
    public Map<String, Operation> operations() {
        return operations;
    }

    /** The operation called {@code name}, or null. */
    public Operation find(String name) {
        return name == null ? null : operations.get(name);
    }

    private static Catalogue load() {
        try (InputStream in = Catalogue.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the operation catalogue " + RESOURCE + " is not on the classpath");
            }
            return parse(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the operation catalogue " + RESOURCE, e);
        }
    }

    static Catalogue parse(JsonNode root) {
        if (root.path("format").asInt(-1) != FORMAT) {
            throw new IllegalStateException("operation catalogue format " + root.path("format") + ", expected " + FORMAT);
        }
        Map<String, Operation> ops = new LinkedHashMap<>();
        for (JsonNode op : root.path("operations")) {
            List<Param> params = new ArrayList<>();
            for (JsonNode p : op.path("params")) {
                boolean integer = "integer".equals(p.path("kind").asText());
                JsonNode d = p.path("default");
                Number defaultValue = d.isNull() || d.isMissingNode() ? null : number(d, integer);
                params.add(new Param(p.path("name").asText(), integer, defaultValue, number(p.path("lo"), integer),
                        number(p.path("hi"), integer)));
            }
            List<String> inputs = new ArrayList<>();
            op.path("inputs").forEach(i -> inputs.add(i.asText()));
            String name = op.path("name").asText();
            ops.put(name, new Operation(name, List.copyOf(inputs), op.path("needs_column").asBoolean(true),
                    valueType(op.path("value_type").asText()), op.path("cql_type").asText(), List.copyOf(params)));
        }
        if (ops.isEmpty()) {
            throw new IllegalStateException("the operation catalogue lists no operation");
        }
        return new Catalogue(ops);
    }

    private static Number number(JsonNode node, boolean integer) {
        return integer ? (Number) node.asInt() : (Number) node.asDouble();
    }

    public static ValueType valueType(String specName) {
        for (ValueType t : ValueType.values()) {
            if (t.specName.equals(specName)) {
                return t;
            }
        }
        throw new IllegalStateException("unknown value type " + specName + " in the operation catalogue");
    }
}
