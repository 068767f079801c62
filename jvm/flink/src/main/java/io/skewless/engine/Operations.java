package io.skewless.engine;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds an operation by name with its parameters checked and defaulted against the operation
 * catalogue ({@link Catalogue}; docs/operations.md). Only the constructors are written here.
 */
public final class Operations {
    /** The catalogue's operation names, in its order. */
    public static final List<String> NAMES = List.copyOf(Catalogue.get().operations().keySet());

    private Operations() {}

    public static Aggregation<? extends Accumulator> create(String op, Params params) {
        Catalogue.Operation spec = Catalogue.get().find(op);
        if (spec == null) {
            throw new IllegalArgumentException("unknown aggregation '" + op + "'; known: " + String.join(", ", NAMES.stream().sorted().toList()));
        }
        try {
            params.checkNoneUnknown(spec.paramNames()); // unknown ones are refused first, as Python does
            Map<String, Number> values = new HashMap<>();
            for (Catalogue.Param p : spec.params()) {
                values.put(p.name(), p.integer()
                        ? params.integer(p.name(), (Integer) p.defaultValue(), p.lo().intValue(), p.hi().intValue())
                        : params.number(p.name(), (Double) p.defaultValue(), p.lo().doubleValue(), p.hi().doubleValue()));
            }
            return build(op, values);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("aggregation " + op + ": " + e.getMessage(), e);
        }
    }

    private static Aggregation<? extends Accumulator> build(String op, Map<String, Number> p) {
        switch (op) {
            case "count":
                return new Count();
            case "sum":
                return new Sum();
            case "avg":
                return new Avg();
            case "min":
                return new Min();
            case "max":
                return new Max();
            case "variance":
                return new Variance();
            case "stddev":
                return new StdDev();
            case "first":
                return new First();
            case "last":
                return new Last();
            case "last_n":
                return new LastN(p.get("n").intValue());
            case "count_distinct":
                return new CountDistinct(p.get("max_size").intValue());
            case "approx_count_distinct":
                return new ApproxCountDistinct(p.get("precision").intValue());
            case "approx_percentile":
                return new ApproxPercentile(p.get("q").doubleValue(), p.get("relative_accuracy").doubleValue(),
                        p.get("max_buckets").intValue());
            default:
                throw new IllegalStateException("operation " + op + " is in the catalogue but has no implementation");
        }
    }
}
