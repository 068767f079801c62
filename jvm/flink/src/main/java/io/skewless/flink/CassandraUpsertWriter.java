package io.skewless.flink;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.AsyncResultSet;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.types.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asynchronous upsert writer with bounded in-flight requests.
 *
 * <p>Lifecycle and guarantees: the session and prepared statement are created when the writer
 * is opened; {@link #write} blocks only when {@code maxInFlight} requests are outstanding;
 * {@link #flush} (which Flink runs before every checkpoint barrier and at end of input) returns
 * only once every write issued so far succeeded, and otherwise throws the first failure, so a
 * checkpoint never acknowledges a lost write. Replays after a failure are harmless because each
 * write carries a deterministic {@code USING TIMESTAMP}.
 */
final class CassandraUpsertWriter implements SinkWriter<Row> {
    private static final Logger LOG = LoggerFactory.getLogger(CassandraUpsertWriter.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final long CLOSE_TIMEOUT_SECONDS = 30;

    private final CassandraSinkConfig config;
    private final CqlSession session;
    private final RowBinder binder;
    private final Semaphore permits;
    private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    // Driver callbacks run on I/O threads; Flink's counters are not thread-safe, so callbacks
    // count here and the task thread moves the counts into the metric group.
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Counter recordsSent;
    private final Counter sendErrors;

    CassandraUpsertWriter(CassandraSinkConfig config, SinkWriterMetricGroup metrics) throws IOException {
        this.config = config;
        this.permits = new Semaphore(config.maxInFlight());
        this.recordsSent = metrics.getNumRecordsSendCounter();
        this.sendErrors = metrics.getNumRecordsSendErrorsCounter();
        metrics.gauge("cassandraWritesInFlight", () -> config.maxInFlight() - permits.availablePermits());
        CqlSession opened = null;
        try {
            opened = CqlSession.builder()
                    .addContactPoints(CassandraSinkConfig.parseContactPoints(config.contactPoints()))
                    .withLocalDatacenter(config.localDatacenter())
                    .withKeyspace(config.keyspace())
                    // The driver reads its reference.conf through this loader; Flink's context
                    // loader may not see the jar when it is shipped as user code.
                    .withClassLoader(CassandraUpsertWriter.class.getClassLoader())
                    .withConfigLoader(DriverConfigLoader.programmaticBuilder()
                            .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, REQUEST_TIMEOUT)
                            .withString(DefaultDriverOption.REQUEST_CONSISTENCY, config.consistencyLevel())
                            // Token-aware routing needs only this keyspace's metadata; loading
                            // the whole cluster's schema slows every writer's start.
                            .withStringList(DefaultDriverOption.METADATA_SCHEMA_REFRESHED_KEYSPACES,
                                    List.of(config.keyspace()))
                            .build())
                    .build();
            PreparedStatement prepared =
                    opened.prepare(SimpleStatement.newInstance(config.statement()).setIdempotent(true));
            this.binder = new RowBinder(prepared, opened.getContext().getCodecRegistry(), config);
        } catch (RuntimeException e) {
            if (opened != null) {
                opened.forceCloseAsync();
            }
            throw new IOException("cannot open Cassandra sink (" + config + "): " + e.getMessage(), e);
        }
        this.session = opened;
        LOG.info("Cassandra sink opened: {}", config);
    }

    @Override
    public void write(Row row, Context context) throws IOException, InterruptedException {
        throwIfFailed();
        BoundStatement statement = binder.bind(row, System.currentTimeMillis());
        permits.acquire();
        try {
            session.executeAsync(statement).whenComplete(this::onComplete);
        } catch (RuntimeException e) {
            permits.release();
            throw new IOException("Cassandra write could not be issued: " + e.getMessage(), e);
        }
        publishMetrics();
    }

    private void onComplete(AsyncResultSet result, Throwable error) {
        try {
            if (error == null) {
                succeeded.incrementAndGet();
            } else {
                failed.incrementAndGet();
                if (firstFailure.compareAndSet(null, error)) {
                    LOG.error("Cassandra write failed; the next write or checkpoint fails", error);
                }
            }
        } finally {
            permits.release();
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        // Holding every permit means no write is outstanding.
        permits.acquire(config.maxInFlight());
        permits.release(config.maxInFlight());
        publishMetrics();
        throwIfFailed();
    }

    private void throwIfFailed() throws IOException {
        Throwable failure = firstFailure.get();
        if (failure != null) {
            publishMetrics();
            throw new IOException(
                    "Cassandra write failed after the driver's retries (" + failed.get() + " failed so far): "
                            + failure.getMessage(), failure);
        }
    }

    private void publishMetrics() {
        recordsSent.inc(succeeded.getAndSet(0));
        sendErrors.inc(failed.getAndSet(0));
    }

    @Override
    public void close() throws IOException {
        try {
            // Graceful close waits for in-flight requests; bounded so cancellation cannot hang.
            session.closeAsync().toCompletableFuture().get(CLOSE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            LOG.warn("Cassandra session did not close within {} s; forcing", CLOSE_TIMEOUT_SECONDS);
            session.forceCloseAsync();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            session.forceCloseAsync();
        } catch (ExecutionException e) {
            throw new IOException("closing the Cassandra session failed", e.getCause());
        }
    }
}
