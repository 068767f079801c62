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
 * <p>PyFlink builds it through {@link #create} over py4j.
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

    /** Entry point for py4j: plain arguments only, validated here on the client. */
    public static CassandraUpsertSink create(
            String contactPoints,
            String localDatacenter,
            String keyspace,
            String statement,
            long ttlSeconds,
            int validFromIndex,
            int versionIndex,
            int maxInFlight,
            String consistencyLevel) {
        return new CassandraUpsertSink(new CassandraSinkConfig(
                contactPoints, localDatacenter, keyspace, statement, ttlSeconds,
                validFromIndex, versionIndex, maxInFlight, consistencyLevel));
    }

    public CassandraSinkConfig config() {
        return config;
    }

    @Override
    public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
        return new CassandraUpsertWriter(config, context.metricGroup());
    }
}
