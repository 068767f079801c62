package io.skewless.flink;

import io.skewless.flink.metrics.FreshnessSlo;
import io.skewless.flink.metrics.ViewSinkMetrics;
import java.io.IOException;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.types.Row;

/**
 * Flink Sink V2 that upserts each {@link Row} into Cassandra with {@code USING TIMESTAMP
 * version AND TTL remaining}, at least once: every write issued before a checkpoint barrier has
 * succeeded when the checkpoint completes (see {@link CassandraUpsertWriter}).
 *
 * <p>Its writers measure the view's freshness and writes under {@code view=<label>}
 * ({@link ViewSinkMetrics}), and export its {@link FreshnessSlo} when it has one.
 * PyFlink builds it through {@link JobSpec#cassandraSink}.
 */
public final class CassandraUpsertSink implements Sink<Row> {
    private static final long serialVersionUID = 1L;

    private final CassandraSinkConfig config;
    private final String viewLabel;
    private final FreshnessSlo slo;

    public CassandraUpsertSink(CassandraSinkConfig config) {
        this(config, "sink", null);
    }

    /**
     * @param viewLabel the view's name@version, its metrics' {@code view} label
     * @param slo the view's freshness objective, null for none
     */
    public CassandraUpsertSink(CassandraSinkConfig config, String viewLabel, FreshnessSlo slo) {
        if (config == null || viewLabel == null) {
            throw new IllegalArgumentException("config and viewLabel must not be null");
        }
        this.config = config;
        this.viewLabel = viewLabel;
        this.slo = slo;
    }

    public CassandraSinkConfig config() {
        return config;
    }

    public String viewLabel() {
        return viewLabel;
    }

    public FreshnessSlo slo() {
        return slo;
    }

    @Override
    public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
        ViewSinkMetrics metrics = ViewSinkMetrics.register(context.metricGroup(), viewLabel, slo);
        return new CassandraUpsertWriter(config, context.metricGroup(), metrics);
    }
}
