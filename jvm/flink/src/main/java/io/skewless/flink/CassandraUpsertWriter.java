package io.skewless.flink;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.ColumnDefinition;
import com.datastax.oss.driver.api.core.cql.ColumnDefinitions;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import com.datastax.oss.driver.api.core.metadata.schema.ColumnMetadata;
import com.datastax.oss.driver.api.core.metadata.schema.TableMetadata;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import io.skewless.flink.metrics.ViewSinkMetrics;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.groups.SinkWriterMetricGroup;
import org.apache.flink.types.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asynchronous upsert writer with bounded in-flight requests that conflates updates of a row.
 *
 * <p>Each bound update waits in a pending map keyed by the row's primary key until a request
 * slot ({@code maxInFlight}) is free. An update of a row that is still pending replaces the
 * waiting one when its {@code USING TIMESTAMP} version is not lower: Cassandra would keep only
 * the newest anyway, since every write sets every column. While Cassandra keeps up, the map is
 * empty and each update goes out at once; when it cannot, the online store still converges on
 * the newest value of every entity, with fewer writes. The history (Iceberg) keeps every
 * update regardless. {@link #write} blocks only when {@link #MAX_PENDING} rows are waiting.
 *
 * <p>{@link #flush} (which Flink runs before every checkpoint barrier and at end of input)
 * returns only once every update received so far is written, and otherwise throws the first
 * failure, so a checkpoint never acknowledges a lost write. Replays after a failure are
 * harmless because each write carries a deterministic {@code USING TIMESTAMP}.
 *
 * <p>Each acknowledgement is measured for the view ({@link ViewSinkMetrics}): freshness (now minus the
 * written row's valid_from), write latency and errors. A conflated update is not measured: the row that
 * replaced it is, and its value is the one readers see.
 */
final class CassandraUpsertWriter implements SinkWriter<Row> {
    private static final Logger LOG = LoggerFactory.getLogger(CassandraUpsertWriter.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final long CLOSE_TIMEOUT_SECONDS = 30;
    /** Rows waiting for a request slot before write() blocks: bounds memory, not freshness. */
    static final int MAX_PENDING = 50_000;

    private final CassandraSinkConfig config;
    private final CqlSession session;
    private final RowBinder binder;
    /** Bind-marker indices of the primary key columns; null when the statement does not bind all of them. */
    private final int[] keyIndices;
    // Guarded by `lock`: the task thread adds, the task thread and driver callbacks drain.
    private final Object lock = new Object();
    private final LinkedHashMap<Object, Pending> pending = new LinkedHashMap<>();
    private int inFlight;
    private final AtomicReference<Throwable> firstFailure = new AtomicReference<>();
    // Driver callbacks run on I/O threads; Flink's counters are not thread-safe, so callbacks
    // count here and the task thread moves the counts into the metric group.
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final Counter recordsSent;
    private final Counter sendErrors;
    private final Counter conflated;
    private final ViewSinkMetrics viewMetrics;

    private record Pending(long version, long validFrom, BoundStatement statement) {}

    CassandraUpsertWriter(CassandraSinkConfig config, SinkWriterMetricGroup metrics, ViewSinkMetrics viewMetrics)
            throws IOException {
        this.config = config;
        this.viewMetrics = viewMetrics;
        this.recordsSent = metrics.getNumRecordsSendCounter();
        this.sendErrors = metrics.getNumRecordsSendErrorsCounter();
        this.conflated = metrics.counter("cassandraWritesConflated");
        metrics.gauge("cassandraWritesInFlight", this::inFlight);
        metrics.gauge("cassandraWritesPending", this::pendingCount);
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
            this.keyIndices = primaryKeyIndices(opened, prepared);
        } catch (RuntimeException e) {
            if (opened != null) {
                opened.forceCloseAsync();
            }
            throw new IOException("cannot open Cassandra sink (" + config + "): " + e.getMessage(), e);
        }
        this.session = opened;
        LOG.info("Cassandra sink opened: {} (conflating by {})", config,
                keyIndices == null ? "nothing: the statement does not bind the whole primary key" : "primary key");
    }

    /** Where the statement binds each primary key column of its table, or null if it misses one. */
    private static int[] primaryKeyIndices(CqlSession session, PreparedStatement prepared) {
        ColumnDefinitions vars = prepared.getVariableDefinitions();
        if (vars.size() == 0) {
            return null;
        }
        ColumnDefinition first = vars.get(0);
        Optional<TableMetadata> table = session.getMetadata().getKeyspace(first.getKeyspace())
                .flatMap(ks -> ks.getTable(first.getTable()));
        if (table.isEmpty()) {
            return null;
        }
        List<ColumnMetadata> key = table.get().getPrimaryKey();
        int[] indices = new int[key.size()];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = vars.firstIndexOf(key.get(i).getName());
            if (indices[i] < 0) {
                return null;
            }
        }
        return indices;
    }

    @Override
    public void write(Row row, Context context) throws IOException, InterruptedException {
        throwIfFailed();
        BoundStatement statement = binder.bind(row, System.currentTimeMillis());
        long version = ((Number) row.getField(config.versionIndex())).longValue();
        long validFrom = ((Number) row.getField(config.validFromIndex())).longValue();
        synchronized (lock) {
            while (pending.size() >= MAX_PENDING && firstFailure.get() == null) {
                lock.wait();
            }
            Object key = rowKey(row);
            Pending waiting = pending.get(key);
            if (waiting == null) {
                pending.put(key, new Pending(version, validFrom, statement));
            } else {
                // The map keeps the key's place in line, so a busy entity cannot starve the others.
                if (version >= waiting.version()) {
                    pending.put(key, new Pending(version, validFrom, statement));
                }
                conflated.inc();
            }
        }
        drain();
        publishMetrics();
    }

    /** The conflation key: the primary key's values, or a unique object when conflation is off. */
    private Object rowKey(Row row) {
        if (keyIndices == null) {
            return new Object();
        }
        if (keyIndices.length == 1) {
            return row.getField(keyIndices[0]);
        }
        List<Object> key = new ArrayList<>(keyIndices.length);
        for (int index : keyIndices) {
            key.add(row.getField(index));
        }
        return key;
    }

    /** Issues pending writes while request slots are free; runs on the task thread and in callbacks. */
    private void drain() {
        while (firstFailure.get() == null) {
            Pending next;
            synchronized (lock) {
                if (inFlight >= config.maxInFlight() || pending.isEmpty()) {
                    return;
                }
                Iterator<Pending> oldest = pending.values().iterator();
                next = oldest.next();
                oldest.remove();
                inFlight++;
                lock.notifyAll(); // room in the pending map
            }
            long validFrom = next.validFrom();
            long issued = System.nanoTime();
            try {
                session.executeAsync(next.statement()).whenComplete((result, error) -> onComplete(error, validFrom, issued));
            } catch (RuntimeException e) {
                onComplete(e, validFrom, issued);
            }
        }
    }

    private void onComplete(Throwable error, long validFrom, long issuedNanos) {
        long nowNanos = System.nanoTime();
        if (error == null) {
            succeeded.incrementAndGet();
            viewMetrics.written(validFrom, issuedNanos, System.currentTimeMillis(), nowNanos);
        } else {
            failed.incrementAndGet();
            viewMetrics.failed(issuedNanos, nowNanos);
            if (firstFailure.compareAndSet(null, error)) {
                LOG.error("Cassandra write failed; the next write or checkpoint fails", error);
            }
        }
        synchronized (lock) {
            inFlight--;
            lock.notifyAll();
        }
        if (error == null) {
            drain();
        }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException, InterruptedException {
        drain();
        synchronized (lock) {
            while ((inFlight > 0 || !pending.isEmpty()) && firstFailure.get() == null) {
                lock.wait(100); // callbacks drain and notify; the timeout only re-checks
            }
        }
        drain();
        publishMetrics();
        throwIfFailed();
    }

    private int inFlight() {
        synchronized (lock) {
            return inFlight;
        }
    }

    private int pendingCount() {
        synchronized (lock) {
            return pending.size();
        }
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
