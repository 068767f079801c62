package io.skewless.flink.metrics;

import java.util.Properties;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.util.PortRange;

/**
 * {@code metrics.reporter.<name>.factory.class} of {@link LoopbackPrometheusReporter}, with the
 * options {@value #HOST} (default {@value #DEFAULT_HOST}) and {@value #PORT} (a port or a range such as
 * {@code 9249-9299}, default {@value #DEFAULT_PORT}; each process takes the first free one).
 */
public final class LoopbackPrometheusReporterFactory implements MetricReporterFactory {
    public static final String HOST = "host";
    public static final String PORT = "port";
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final String DEFAULT_PORT = "9249";

    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        String host = properties.getProperty(HOST, DEFAULT_HOST);
        return new LoopbackPrometheusReporter(host, new PortRange(properties.getProperty(PORT, DEFAULT_PORT)));
    }
}
