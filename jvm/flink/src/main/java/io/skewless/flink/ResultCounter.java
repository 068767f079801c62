package io.skewless.flink;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * A metric counter whose counts also reach the job's result, as the accumulator
 * {@code <scope>|<count>} or {@code <scope>|<count>|<reason code>} (a {@link LongCounter}, summed
 * over subtasks): the metric is for watching a running job, the accumulator gives a finished run
 * its summary (skewless.summary reads it back). The scope is a view's name@version or the topic.
 *
 * <p>Accumulators are not checkpointed: a job restored from a checkpoint or savepoint, or restarted
 * after a failure, counts from its restore point on. Two operators chained into one task cannot
 * register the same accumulator name.
 */
public final class ResultCounter implements Counter {
    public static final String SEPARATOR = "|";

    private final Counter metric;
    private final LongCounter total;

    private ResultCounter(Counter metric, LongCounter total) {
        this.metric = metric;
        this.total = total;
    }

    /**
     * The counter {@code metric} of {@code group}, also counted by the accumulator named by
     * {@code accumulator} joined with {@value #SEPARATOR}.
     */
    public static ResultCounter register(RuntimeContext context, MetricGroup group, String metric,
            String... accumulator) {
        LongCounter total = new LongCounter();
        context.addAccumulator(String.join(SEPARATOR, accumulator), total);
        return new ResultCounter(group.counter(metric), total);
    }

    @Override
    public void inc() {
        metric.inc();
        total.add(1L);
    }

    @Override
    public void inc(long n) {
        metric.inc(n);
        total.add(n);
    }

    @Override
    public void dec() {
        dec(1L);
    }

    @Override
    public void dec(long n) {
        metric.dec(n);
        total.add(-n);
    }

    @Override
    public long getCount() {
        return metric.getCount();
    }
}
