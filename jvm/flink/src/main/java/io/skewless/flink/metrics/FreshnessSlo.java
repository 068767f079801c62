package io.skewless.flink.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.Serializable;
import java.math.BigDecimal;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * A view's freshness objective, from its spec's {@code freshness_slo}: {@code {"quantile": 0.99,
 * "max_ms": 2000}} means "99% of updates reach Cassandra within 2 s of their event time".
 *
 * <p>Exported as a gauge so that alert rules compare the measured quantile against the view's own
 * objective instead of a number copied into the rules: {@value #METRIC} in seconds, under
 * {@code quantile=<q>} in the view's group.
 */
public record FreshnessSlo(double quantile, long maxMs) implements Serializable {
    public static final String KEY = "freshness_slo";
    public static final String QUANTILE_GROUP = "quantile";
    public static final String METRIC = "freshness_slo_seconds";

    public FreshnessSlo {
        if (!(quantile > 0 && quantile < 1)) {
            throw new IllegalArgumentException(KEY + ": quantile must be in (0, 1), got " + quantile);
        }
        if (maxMs <= 0) {
            throw new IllegalArgumentException(KEY + ": max_ms must be > 0, got " + maxMs);
        }
    }

    /** The SLO of a view spec (its JSON object), or null when the spec has none. */
    public static FreshnessSlo fromSpec(JsonNode spec) {
        JsonNode slo = spec.path(KEY);
        if (slo.isMissingNode() || slo.isNull()) {
            return null;
        }
        if (!slo.isObject() || !slo.path("quantile").isNumber() || !slo.path("max_ms").isIntegralNumber()) {
            throw new IllegalArgumentException(KEY + " must be {\"quantile\": <number in (0, 1)>, \"max_ms\": <integer>},"
                    + " got " + slo);
        }
        return new FreshnessSlo(slo.path("quantile").asDouble(), slo.path("max_ms").asLong());
    }

    /** The label value: 0.99, not 0.9900000001. */
    public String quantileLabel() {
        return BigDecimal.valueOf(quantile).stripTrailingZeros().toPlainString();
    }

    public void register(MetricGroup view) {
        double seconds = maxMs / 1000.0;
        view.addGroup(QUANTILE_GROUP, quantileLabel()).gauge(METRIC, (Gauge<Double>) () -> seconds);
    }
}
