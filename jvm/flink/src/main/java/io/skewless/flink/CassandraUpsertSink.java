package io.skewless.flink;

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
 * <p>PyFlink builds it through {@link JobSpec#cassandraSink}.
 */
public final class CassandraUpsertSink implements Sink<Row> {
    private static final long serialVersionUID = 1L;

    private final CassandraSinkConfig config;

    public CassandraUpsertSink(CassandraSinkConfig config) {
        if (config == null) {
            throw new IllegalArgumentException("config must not be null");
        }
        this.config = config;
    }

    public CassandraSinkConfig config() {
        return config;
    }

    @Override
    public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
        return new CassandraUpsertWriter(config, context.metricGroup());
    }
}
