package io.skewless.flink;

import java.io.Serializable;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Everything a {@link CassandraUpsertSink} needs, validated once on the client so that a bad
 * config fails at job build time with a clear message instead of on a task manager.
 *
 * <p>The statement must have the form {@code INSERT INTO ks.t (c1, ..., cn) VALUES (?, ..., ?)
 * USING TIMESTAMP ? AND TTL ?}: row field i binds to column marker i, the last two markers take
 * the row's version (microseconds) and the remaining TTL.
 */
public final class CassandraSinkConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Cassandra's upper bound for a TTL: 20 years. */
    public static final long MAX_TTL_SECONDS = 630_720_000L;

    private static final Set<String> CONSISTENCY_LEVELS =
            Set.of("ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL");

    private final String contactPoints;
    private final String localDatacenter;
    private final String keyspace;
    private final String statement;
    private final long ttlSeconds;
    private final int validFromIndex;
    private final int versionIndex;
    private final int maxInFlight;
    private final String consistencyLevel;

    public CassandraSinkConfig(
            String contactPoints,
            String localDatacenter,
            String keyspace,
            String statement,
            long ttlSeconds,
            int validFromIndex,
            int versionIndex,
            int maxInFlight,
            String consistencyLevel) {
        this.contactPoints = require(contactPoints, "contactPoints");
        this.localDatacenter = require(localDatacenter, "localDatacenter");
        this.keyspace = require(keyspace, "keyspace");
        this.statement = require(statement, "statement");
        this.consistencyLevel = require(consistencyLevel, "consistencyLevel").toUpperCase(Locale.ROOT);
        this.ttlSeconds = ttlSeconds;
        this.validFromIndex = validFromIndex;
        this.versionIndex = versionIndex;
        this.maxInFlight = maxInFlight;
        parseContactPoints(contactPoints);
        String upper = statement.toUpperCase(Locale.ROOT).replaceAll("\\s+", " ").trim();
        if (!upper.startsWith("INSERT ") || !upper.endsWith("USING TIMESTAMP ? AND TTL ?")) {
            throw new IllegalArgumentException(
                    "statement must be 'INSERT INTO ks.table (cols...) VALUES (?,...) "
                            + "USING TIMESTAMP ? AND TTL ?', got: " + statement);
        }
        if (ttlSeconds > MAX_TTL_SECONDS) {
            throw new IllegalArgumentException(
                    "ttlSeconds must be <= " + MAX_TTL_SECONDS + " (Cassandra's limit), got " + ttlSeconds);
        }
        if (validFromIndex < 0 || versionIndex < 0) {
            throw new IllegalArgumentException(
                    "validFromIndex and versionIndex must be >= 0, got "
                            + validFromIndex + " and " + versionIndex);
        }
        if (validFromIndex == versionIndex) {
            throw new IllegalArgumentException(
                    "validFromIndex and versionIndex must differ, both are " + validFromIndex);
        }
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlight must be >= 1, got " + maxInFlight);
        }
        if (!CONSISTENCY_LEVELS.contains(this.consistencyLevel)) {
            throw new IllegalArgumentException(
                    "consistencyLevel must be one of " + CONSISTENCY_LEVELS + ", got " + consistencyLevel);
        }
    }

    /** Parses "host:port,host:port"; a missing port means 9042. */
    public static List<InetSocketAddress> parseContactPoints(String spec) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String part : require(spec, "contactPoints").split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int colon = p.lastIndexOf(':');
            String host = colon < 0 ? p : p.substring(0, colon);
            int port = 9042;
            if (colon >= 0) {
                try {
                    port = Integer.parseInt(p.substring(colon + 1));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad port in contact point '" + p + "'", e);
                }
            }
            if (host.isEmpty() || port < 1 || port > 65535) {
                throw new IllegalArgumentException("bad contact point '" + p + "', expected host:port");
            }
            out.add(InetSocketAddress.createUnresolved(host, port));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("contactPoints is empty, expected 'host:port,...'");
        }
        return out;
    }

    private static String require(String value, String name) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(name + " must be a non-empty string");
        }
        return value;
    }

    public String contactPoints() { return contactPoints; }
    public String localDatacenter() { return localDatacenter; }
    public String keyspace() { return keyspace; }
    public String statement() { return statement; }
    public long ttlSeconds() { return ttlSeconds; }
    public int validFromIndex() { return validFromIndex; }
    public int versionIndex() { return versionIndex; }
    public int maxInFlight() { return maxInFlight; }
    public String consistencyLevel() { return consistencyLevel; }

    @Override
    public String toString() {
        return "CassandraSinkConfig{contactPoints=" + contactPoints + ", localDatacenter=" + localDatacenter
                + ", keyspace=" + keyspace + ", statement=" + statement + ", ttlSeconds=" + ttlSeconds
                + ", validFromIndex=" + validFromIndex + ", versionIndex=" + versionIndex
                + ", maxInFlight=" + maxInFlight + ", consistencyLevel=" + consistencyLevel + "}";
    }
}
