package io.skewless.flink.metrics;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * What a view's online writer measures at each acknowledged Cassandra write, under
 * {@code view=<name@version>}:
 * <ul>
 *   <li>{@value #FRESHNESS}: the wall clock at the acknowledgement minus the row's valid_from (its
 *       event time, or the tile boundary of an expiry update), i.e. how long after an event its
 *       value became readable online;</li>
 *   <li>{@value #WRITE_LATENCY}: from issuing the write to its acknowledgement;</li>
 *   <li>{@value #WRITE_ERRORS}: writes the driver gave up on (after its retries).</li>
 * </ul>
 * Histograms are {@link BucketHistogram}s; the error count is a gauge over a total, since the
 * acknowledgements arrive on the driver's threads and Flink's counters are not thread-safe.
 */
public final class ViewSinkMetrics {
    public static final String VIEW_GROUP = "view";
    public static final String FRESHNESS = "freshness_seconds";
    public static final String WRITE_LATENCY = "cassandra_write_seconds";
    public static final String WRITE_ERRORS = "cassandra_write_errors";
    /** Freshness bounds in ms: 10 ms to 1 h, a live job's range up to a replay's catch-up. */
    static final long[] FRESHNESS_MS = {10, 25, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
            300_000, 1_800_000, 3_600_000};
    /** Write latency bounds in us: 0.5 ms to 10 s (the driver's request timeout). */
    static final long[] WRITE_US = {500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
            1_000_000, 2_500_000, 5_000_000, 10_000_000};

    private final BucketHistogram freshness;
    private final BucketHistogram writeLatency = new BucketHistogram(WRITE_US, 6);
    private final AtomicLong errors = new AtomicLong();

    private ViewSinkMetrics(FreshnessSlo slo) {
        // The SLO's threshold is made a bucket edge, so "p99 above 2 s" is decided by counts, not interpolation.
        this.freshness = new BucketHistogram(
                slo == null ? FRESHNESS_MS : BucketHistogram.withBound(FRESHNESS_MS, slo.maxMs()), 3);
    }

    /** The metrics of view {@code label} in {@code operator} (the writer's group); {@code slo} may be null. */
    public static ViewSinkMetrics register(MetricGroup operator, String label, FreshnessSlo slo) {
        ViewSinkMetrics metrics = new ViewSinkMetrics(slo);
        MetricGroup view = operator.addGroup(VIEW_GROUP, label);
        metrics.freshness.register(view, FRESHNESS);
        metrics.writeLatency.register(view, WRITE_LATENCY);
        view.gauge(WRITE_ERRORS, (Gauge<Long>) metrics.errors::get);
        if (slo != null) {
            slo.register(view);
        }
        return metrics;
    }

    /** A write acknowledged at {@code nowMs}, issued at {@code issuedNanos}, of a row valid from {@code validFromMs}. */
    public void written(long validFromMs, long issuedNanos, long nowMs, long nowNanos) {
        freshness.observe(nowMs - validFromMs);
        writeLatency.observe((nowNanos - issuedNanos) / 1_000);
    }

    public void failed(long issuedNanos, long nowNanos) {
        errors.incrementAndGet();
        writeLatency.observe((nowNanos - issuedNanos) / 1_000);
    }

    BucketHistogram freshness() {
        return freshness;
    }
}
