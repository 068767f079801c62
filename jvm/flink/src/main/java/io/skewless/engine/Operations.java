package io.skewless.engine;

import java.util.List;
import java.util.Map;

/** Builds an operation by name with its parameters checked and defaulted (docs/operations.md). */
public final class Operations {
    public static final List<String> NAMES = List.of(
            "count", "sum", "avg", "min", "max", "variance", "stddev", "first", "last", "last_n",
            "count_distinct", "approx_count_distinct", "approx_percentile");

    // Declared parameters per operation, so unknown ones are refused first, as Python does.
    private static final Map<String, List<String>> PARAMETERS = Map.of(
            "last_n", List.of("n"),
            "count_distinct", List.of("max_size"),
            "approx_count_distinct", List.of("precision"),
            "approx_percentile", List.of("max_buckets", "q", "relative_accuracy"));

    private Operations() {}

    public static Aggregation<? extends Accumulator> create(String op, Params params) {
        if (op == null || !NAMES.contains(op)) {
            throw new IllegalArgumentException("unknown aggregation '" + op + "'; known: " + String.join(", ", NAMES.stream().sorted().toList()));
        }
        try {
            params.checkNoneUnknown(PARAMETERS.getOrDefault(op, List.of()));
            return build(op, params);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("aggregation " + op + ": " + e.getMessage(), e);
        }
    }

    private static Aggregation<? extends Accumulator> build(String op, Params p) {
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
                return new LastN(p.integer("n", null, 1, 1000));
            case "count_distinct":
                return new CountDistinct(p.integer("max_size", 10_000, 16, 100_000));
            case "approx_count_distinct":
                return new ApproxCountDistinct(p.integer("precision", 12, 4, 16));
            case "approx_percentile":
                double q = p.number("q", null, 0.0, 1.0);
                double accuracy = p.number("relative_accuracy", 0.01, 0.001, 0.2);
                int maxBuckets = p.integer("max_buckets", 2048, 16, 65_536);
                return new ApproxPercentile(q, accuracy, maxBuckets);
            default:
                throw new IllegalStateException(op);
        }
    }
}
