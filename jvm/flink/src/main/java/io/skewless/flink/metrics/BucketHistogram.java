package io.skewless.flink.metrics;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * A Prometheus-style histogram with fixed bucket bounds, exported through Flink gauges: one cumulative
 * bucket per bound under {@code le=<bound in seconds>} (and {@code le="+Inf"}), plus {@code _count}
 * and {@code _sum}.
 *
 * <p>Why not a Flink {@link org.apache.flink.metrics.Histogram}: Flink's Prometheus reporter renders
 * one as a summary, quantiles computed inside each subtask over its own sliding window. Quantiles of
 * different subtasks (or views) cannot be combined, so a job at parallelism 2 could never be held to
 * "p99 of the view below 2 s". Cumulative buckets can: {@code histogram_quantile(0.99, sum by (view, le)
 * (rate(..._bucket[5m])))} merges subtasks, and the PromQL range is the sliding window.
 *
 * <p>Thread-safe and allocation-free per observation: {@link #observe} may run on any thread (the
 * Cassandra driver's I/O threads do); the reporter reads the counts from its own. Buckets are read one
 * gauge at a time, so a scrape taken while observations land may see a bucket a few counts ahead of
 * the next: histogram_quantile tolerates that.
 */
public final class BucketHistogram {
    public static final String BUCKET_GROUP = "le";
    public static final String INFINITY = "+Inf";

    private final long[] bounds;
    private final int decimals;
    private final AtomicLongArray counts;
    private final LongAdder sum = new LongAdder();

    /**
     * @param bounds the upper bounds of the buckets, in units of 10^-decimals s (ms for decimals = 3),
     *     in any order, duplicates ignored; observations above the largest fall in +Inf
     * @param decimals 3 when observations are milliseconds, 6 for microseconds
     */
    public BucketHistogram(long[] bounds, int decimals) {
        if (bounds == null || bounds.length == 0) {
            throw new IllegalArgumentException("a histogram needs at least one bucket bound");
        }
        long[] sorted = Arrays.stream(bounds).sorted().distinct().toArray();
        if (sorted[0] < 0) {
            throw new IllegalArgumentException("bucket bounds must be >= 0, got " + sorted[0]);
        }
        this.bounds = sorted;
        this.decimals = decimals;
        this.counts = new AtomicLongArray(sorted.length + 1);
    }

    /** The same bounds plus {@code extra} (e.g. an SLO's threshold, so the alert's edge is a bucket edge). */
    public static long[] withBound(long[] bounds, long extra) {
        long[] out = Arrays.copyOf(bounds, bounds.length + 1);
        out[bounds.length] = extra;
        return out;
    }

    /** One observation, in the histogram's unit; a negative one (a clock behind the event) counts as 0. */
    public void observe(long value) {
        long v = Math.max(0, value);
        int index = Arrays.binarySearch(bounds, v);
        counts.incrementAndGet(index >= 0 ? index : -index - 1); // the first bound >= v, or +Inf
        sum.add(v);
    }

    /** Observations <= bound #i (i = bounds count: all of them, the +Inf bucket). */
    public long cumulative(int i) {
        long total = 0;
        for (int b = 0; b <= i; b++) {
            total += counts.get(b);
        }
        return total;
    }

    public long count() {
        return cumulative(bounds.length);
    }

    /** The sum of the observations in seconds. */
    public double sumSeconds() {
        return sum.sum() / Math.pow(10, decimals);
    }

    /** The {@code le} label values, +Inf last. */
    public String[] labels() {
        String[] out = new String[bounds.length + 1];
        for (int i = 0; i < bounds.length; i++) {
            out[i] = BigDecimal.valueOf(bounds[i], decimals).stripTrailingZeros().toPlainString();
        }
        out[bounds.length] = INFINITY;
        return out;
    }

    /**
     * Registers {@code <name>_bucket} under {@code le=<bound>} for every bucket, and {@code <name>_count},
     * {@code <name>_sum} in {@code group}.
     */
    public void register(MetricGroup group, String name) {
        String[] labels = labels();
        for (int i = 0; i < labels.length; i++) {
            int bucket = i;
            group.addGroup(BUCKET_GROUP, labels[i]).gauge(name + "_bucket", (Gauge<Long>) () -> cumulative(bucket));
        }
        group.gauge(name + "_count", (Gauge<Long>) this::count);
        group.gauge(name + "_sum", (Gauge<Double>) this::sumSeconds);
    }
}
