package io.skewless.flink;

/**
 * The Cassandra TTL for a write, derived from the view TTL and the update's valid_from.
 *
 * <p>The read path decides what is live (present while {@code now <= valid_from + ttl}); the
 * Cassandra TTL is only a storage backstop, so it must never delete a value the read rule still
 * serves. Cassandra counts TTLs in whole seconds from its own {@code floor(now)}, hence the value
 * is rounded up and one second of slack is added. It is at least 1: an already-expired update is
 * still the entity's latest truth and must overwrite older values; the read path hides it.
 */
public final class StorageTtl {
    private StorageTtl() {}

    /** Seconds to bind to {@code USING TTL ?}; 0 (no TTL) when {@code ttlSeconds <= 0}. */
    public static int seconds(long validFromMs, long nowMs, long ttlSeconds) {
        if (ttlSeconds <= 0) {
            return 0;
        }
        long remainingMs;
        try {
            remainingMs = Math.subtractExact(Math.addExact(validFromMs, ttlSeconds * 1000L), nowMs);
        } catch (ArithmeticException overflow) {
            // Absurd valid_from, far in the past or future: saturate towards it.
            return validFromMs < nowMs ? 1 : (int) CassandraSinkConfig.MAX_TTL_SECONDS;
        }
        // ceil(remaining / 1 s), plus 1 s of slack for Cassandra's whole-second clock.
        long ceilSeconds = Math.floorDiv(remainingMs, 1000L) + (Math.floorMod(remainingMs, 1000L) == 0 ? 0 : 1);
        long seconds = Math.max(1, ceilSeconds + 1);
        return (int) Math.min(seconds, CassandraSinkConfig.MAX_TTL_SECONDS);
    }
}
