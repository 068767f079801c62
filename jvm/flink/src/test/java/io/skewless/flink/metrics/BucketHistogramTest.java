package io.skewless.flink.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

/** Cumulative buckets as Prometheus reads them, and the metric names and labels they register. */
class BucketHistogramTest {
    /** A metric group that records what is registered, by "key=value/.../name". */
    private static final class Recording extends UnregisteredMetricsGroup {
        final Map<String, Metric> metrics;
        final String path;

        Recording(Map<String, Metric> metrics, String path) {
            this.metrics = metrics;
            this.path = path;
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new Recording(metrics, path + key + "=" + value + "/");
        }

        @Override
        public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
            metrics.put(path + name, gauge);
            return gauge;
        }
    }

    private static Object read(Map<String, Metric> metrics, String name) {
        return ((Gauge<?>) metrics.get(name)).getValue();
    }

    @Test
    void anObservationCountsInItsBucketAndEveryOneAbove() {
        BucketHistogram h = new BucketHistogram(new long[] {100, 10, 1000, 100}, 3);
        assertArrayEquals(new String[] {"0.01", "0.1", "1", "+Inf"}, h.labels());
        for (long v : new long[] {-5, 0, 10, 11, 100, 999, 1000, 1001, 50_000}) {
            h.observe(v);
        }
        // <= 10 ms: -5 (as 0), 0, 10; <= 100: + 11, 100; <= 1 s: + 999, 1000; +Inf: + 1001, 50000.
        assertEquals(3, h.cumulative(0));
        assertEquals(5, h.cumulative(1));
        assertEquals(7, h.cumulative(2));
        assertEquals(9, h.cumulative(3));
        assertEquals(9, h.count());
        assertEquals((0 + 0 + 10 + 11 + 100 + 999 + 1000 + 1001 + 50_000) / 1000.0, h.sumSeconds(), 1e-9);
    }

    @Test
    void boundsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new BucketHistogram(new long[0], 3));
        assertThrows(IllegalArgumentException.class, () -> new BucketHistogram(new long[] {-1, 5}, 3));
        assertArrayEquals(new long[] {1, 2, 7}, BucketHistogram.withBound(new long[] {1, 2}, 7));
    }

    @Test
    void aViewRegistersItsHistogramsWithTheSloThresholdAsABucketEdge() {
        Map<String, Metric> metrics = new LinkedHashMap<>();
        ViewSinkMetrics view = ViewSinkMetrics.register(new Recording(metrics, ""), "v@1", new FreshnessSlo(0.99, 1_500));
        long t = 1_000_000;
        view.written(t - 1_200, 0, t, 3_000_000); // fresh after 1.2 s, written in 3 ms
        view.written(t - 1_700, 0, t, 1_000);
        view.failed(0, 20_000_000);
        assertEquals(0L, read(metrics, "view=v@1/le=1/freshness_seconds_bucket"));
        assertEquals(1L, read(metrics, "view=v@1/le=1.5/freshness_seconds_bucket"));
        assertEquals(2L, read(metrics, "view=v@1/le=2/freshness_seconds_bucket"));
        assertEquals(2L, read(metrics, "view=v@1/le=+Inf/freshness_seconds_bucket"));
        assertEquals(2L, read(metrics, "view=v@1/freshness_seconds_count"));
        assertEquals(2.9, (Double) read(metrics, "view=v@1/freshness_seconds_sum"), 1e-9);
        // Write latency: 3 ms and 1 us acknowledged, 20 ms failed.
        assertEquals(1L, read(metrics, "view=v@1/le=0.0005/cassandra_write_seconds_bucket"));
        assertEquals(2L, read(metrics, "view=v@1/le=0.005/cassandra_write_seconds_bucket"));
        assertEquals(3L, read(metrics, "view=v@1/le=0.025/cassandra_write_seconds_bucket"));
        assertEquals(1L, read(metrics, "view=v@1/cassandra_write_errors"));
        assertEquals(1.5, read(metrics, "view=v@1/quantile=0.99/freshness_slo_seconds"));
    }

    @Test
    void withoutAnSloThereIsNoSloGauge() {
        Map<String, Metric> metrics = new LinkedHashMap<>();
        ViewSinkMetrics.register(new Recording(metrics, ""), "v@1", null);
        assertNull(metrics.get("view=v@1/quantile=0.99/freshness_slo_seconds"));
        assertEquals(0L, read(metrics, "view=v@1/le=+Inf/freshness_seconds_bucket"));
        assertNull(metrics.get("view=v@1/le=1.5/freshness_seconds_bucket"));
    }
}
