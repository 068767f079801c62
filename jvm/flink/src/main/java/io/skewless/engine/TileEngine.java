package io.skewless.engine;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The features of one view evaluated over tiles (docs/operations.md; the README's semantics contract).
 * Stateless itself; state is passed in.
 *
 * <p>The value of a feature at instant t covers events in [floor(t/H)*H - W + H, t]. Events apply
 * the moment they arrive; an event older than the newest instant walked is corrected for by
 * replaying the events since the sealed point (watermark - lateness) from a sealed copy of the tiles
 * and emitting, with a higher revision, every instant whose value changed.
 *
 * <p>{@link #NONE} (Long.MIN_VALUE) stands for Python's None in instants, timers and the horizon;
 * Long.MIN_VALUE is not a usable event time. Arithmetic on watermarks saturates instead of wrapping.
 */
public final class TileEngine {
    public static final long NONE = Long.MIN_VALUE;
    public static final int MAX_TILES = 10_000;

    private final Aggregation<Accumulator>[] ops;
    private final long[] hops; // 0: a lifetime window, one tile that never expires
    private final int[] tiles;
    private final long latenessMs;
    private final long expiryHorizon;

    @SuppressWarnings("unchecked")
    public TileEngine(List<? extends Aggregation<? extends Accumulator>> operations, long[] hopMs, int[] tileCounts,
            long latenessMs, long expiryHorizon) {
        int n = operations.size();
        if (n == 0 || hopMs.length != n || tileCounts.length != n) {
            throw new IllegalArgumentException("need at least one feature, and one hop and tile count per operation");
        }
        if (latenessMs < 0) {
            throw new IllegalArgumentException("allowed lateness must be >= 0, got " + latenessMs);
        }
        this.ops = new Aggregation[n];
        for (int i = 0; i < n; i++) {
            ops[i] = (Aggregation<Accumulator>) operations.get(i);
            checkWindow(i, hopMs[i], tileCounts[i]);
        }
        this.hops = hopMs.clone();
        this.tiles = tileCounts.clone();
        this.latenessMs = latenessMs;
        this.expiryHorizon = expiryHorizon;
    }

    /** Builds the operations from names and parameter strings (see {@link Params#parse}). */
    public static TileEngine of(String[] ops, long[] hopMs, int[] tileCounts, String[] params, long latenessMs,
            long expiryHorizon) {
        if (ops == null || hopMs == null || tileCounts == null) {
            throw new IllegalArgumentException("ops, hops and tile counts are required");
        }
        if (params != null && params.length != ops.length) {
            throw new IllegalArgumentException(
                    "params has " + params.length + " entries for " + ops.length + " operations");
        }
        List<Aggregation<? extends Accumulator>> built = new ArrayList<>();
        for (int i = 0; i < ops.length; i++) {
            try {
                built.add(Operations.create(ops[i], Params.parse(params == null ? null : params[i])));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("feature #" + i + ": " + e.getMessage(), e);
            }
        }
        return new TileEngine(built, hopMs, tileCounts, latenessMs, expiryHorizon);
    }

    private static void checkWindow(int i, long hop, int n) {
        if (hop < 0) {
            throw new IllegalArgumentException("feature #" + i + ": hop must be > 0 (or 0 for a lifetime window), got " + hop);
        }
        if (hop == 0 && n != 1) {
            throw new IllegalArgumentException("feature #" + i + ": a lifetime window (hop 0) has exactly 1 tile, got " + n);
        }
        if (n < 1 || n > MAX_TILES) {
            throw new IllegalArgumentException("feature #" + i + ": tiles must be in [1, " + MAX_TILES + "], got " + n);
        }
    }

    public int featureCount() {
        return ops.length;
    }

    public Aggregation<Accumulator> operation(int i) {
        return ops[i];
    }

    public long latenessMs() {
        return latenessMs;
    }

    public EntityState newState() {
        return new EntityState(ops.length);
    }

    /** False for an event too far behind the watermark to be corrected for. */
    public boolean accepts(long eventTime, long watermark) {
        return eventTime > minus(watermark, latenessMs);
    }

    // -- the two entry points: an event, a timer ------------------------------------------

    /** Applies one accepted event; {@code inputs} has one value per feature (ignored for count), kept as is. */
    public List<Update> onEvent(EntityState state, long eventTime, double[] inputs, long watermark) {
        checkState(state);
        seal(state, watermark);
        state.recent.insert(eventTime, inputs);
        long last = state.live.lastInstant;
        if (last == NONE || eventTime > last) {
            return record(state, walk(state.live, new long[] {eventTime}, new double[][] {inputs}, 1, eventTime));
        }
        return correct(state);
    }

    /** Walks tile expiries up to the watermark (>= t, the timer's instant). */
    public List<Update> onTimer(EntityState state, long t, long watermark) {
        checkState(state);
        seal(state, watermark);
        long last = state.live.lastInstant;
        long until = Math.max(t, watermark);
        if (last == NONE || until <= last) {
            return Collections.emptyList();
        }
        return record(state, walk(state.live, new long[0], new double[0][], 0, until));
    }

    /** The next instant a timer must wake the entity (its next tile expiry), or {@link #NONE}. */
    public long nextTimer(EntityState state) {
        long last = state.live.lastInstant;
        return last == NONE ? NONE : nextExpiry(state.live, last);
    }

    private void checkState(EntityState state) {
        if (state.featureCount() != ops.length) {
            throw new IllegalArgumentException(
                    "engine state holds " + state.featureCount() + " features, the view has " + ops.length);
        }
    }

    // -- window math ------------------------------------------------------------------------

    Object[] valueAt(Position position, long t) {
        Object[] out = new Object[ops.length];
        for (int i = 0; i < ops.length; i++) {
            Aggregation<Accumulator> op = ops[i];
            TileMap map = position.tiles[i];
            long hop = hops[i];
            long newest = hop == 0 ? 0 : Math.floorDiv(t, hop);
            long oldest = newest - tiles[i] + 1;
            Accumulator prefix = position.mergedPrefix[i];
            if (prefix == null || position.mergedFirst[i] != oldest || position.mergedLast[i] != newest - 1) {
                prefix = op.init();
                for (int k = map.ceilingIndex(oldest); k < map.size() && map.keyAt(k) < newest; k++) {
                    prefix = op.merge(prefix, map.accAt(k));
                }
                position.mergedFirst[i] = oldest;
                position.mergedLast[i] = newest - 1;
                position.mergedPrefix[i] = prefix;
            }
            Accumulator newestTile = map.get(newest);
            out[i] = newestTile == null ? op.result(prefix) : op.resultOfMerge(prefix, newestTile);
        }
        return out;
    }

    /** The first instant > after at which a non-empty tile leaves its window, or NONE. */
    private long nextExpiry(Position position, long after) {
        long best = NONE;
        for (int i = 0; i < ops.length; i++) {
            TileMap map = position.tiles[i];
            long hop = hops[i];
            if (hop == 0 || map.isEmpty()) {
                continue; // a lifetime window never loses a tile
            }
            int n = tiles[i];
            long oldest = Math.floorDiv(after, hop) - n + 1;
            long first = map.firstKey();
            if (first < oldest) { // not evicted yet (sealed copies evict lazily)
                int live = map.ceilingIndex(oldest);
                if (live == map.size()) {
                    continue;
                }
                first = map.keyAt(live);
            }
            long instant = (first + n) * hop;
            if (best == NONE || instant < best) {
                best = instant;
            }
        }
        if (best != NONE && expiryHorizon != NONE && best > expiryHorizon) {
            return NONE;
        }
        return best;
    }

    /** Applies events (sorted) and tile expiries up to {@code until}, in time order; returns value changes. */
    private List<Update> walk(Position position, long[] times, double[][] inputs, int count, long until) {
        List<Update> changes = new ArrayList<>();
        int i = 0;
        while (true) {
            long expiry = position.lastInstant == NONE ? NONE : nextExpiry(position, position.lastInstant);
            long instant;
            if (i < count) {
                instant = expiry == NONE ? times[i] : Math.min(times[i], expiry);
            } else if (expiry != NONE) {
                instant = expiry;
            } else {
                return changes;
            }
            if (instant > until) {
                return changes;
            }
            while (i < count && times[i] == instant) {
                add(position, instant, inputs[i]);
                i++;
            }
            position.lastInstant = instant;
            Object[] values = valueAt(position, instant);
            if (!Values.same(values, position.lastValues)) {
                position.lastValues = values;
                changes.add(new Update(instant, values, 0));
            }
            evict(position, instant);
        }
    }

    private void add(Position position, long ts, double[] inputs) {
        for (int i = 0; i < ops.length; i++) {
            Aggregation<Accumulator> op = ops[i];
            TileMap map = position.tiles[i];
            long hop = hops[i];
            long k = hop == 0 ? 0 : Math.floorDiv(ts, hop);
            Accumulator acc = map.get(k);
            if (acc == null) {
                map.put(k, op.add(op.init(), inputs[i], ts));
            } else {
                Accumulator updated = op.add(acc, inputs[i], ts);
                if (updated != acc) {
                    map.put(k, updated);
                }
            }
            if (position.mergedPrefix[i] != null && k <= position.mergedLast[i]) {
                position.mergedPrefix[i] = null;
            }
        }
    }

    /** Drops tiles that no window at an instant >= t can reach. */
    private void evict(Position position, long t) {
        for (int i = 0; i < ops.length; i++) {
            TileMap map = position.tiles[i];
            long hop = hops[i];
            if (hop == 0 || map.isEmpty()) {
                continue;
            }
            long oldest = Math.floorDiv(t, hop) - tiles[i] + 1;
            if (map.firstKey() < oldest) {
                map.removeBelow(oldest);
            }
        }
    }

    // -- bookkeeping for corrections -----------------------------------------------------------

    private List<Update> record(EntityState state, List<Update> changes) {
        // Only instants after the sealed point are kept: a walk may pass instants the watermark
        // has already sealed (a timer that fires after a jump of more than the lateness), and a
        // correction replays from the sealed point, so a step at or before it would be
        // "corrected" to the sealed point's value.
        long sealedAt = state.sealedAt;
        for (Update u : changes) {
            if (sealedAt == NONE || u.validFrom > sealedAt) {
                state.steps.put(u.validFrom, u.values, 0);
            }
        }
        return changes;
    }

    /**
     * Moves the sealed copy up to watermark - lateness: nothing older can change any more. The
     * sealed copy only needs its tiles, so sealing adds events and evicts without walking instants.
     */
    private void seal(EntityState state, long watermark) {
        long target = minus(watermark, latenessMs);
        if (expiryHorizon != NONE) {
            target = Math.min(target, expiryHorizon);
        }
        if (state.sealedAt != NONE && target <= state.sealedAt) {
            return;
        }
        RecentEvents recent = state.recent;
        int split = 0;
        while (split < recent.size() && recent.time(split) <= target) {
            add(state.sealed, recent.time(split), recent.inputs(split));
            split++;
        }
        recent.removeFirst(split);
        Position sealed = state.sealed;
        if (sealed.lastInstant != NONE || split > 0) {
            sealed.lastInstant = target;
            evict(sealed, target);
        }
        state.sealedAt = target;
        state.steps.removeUpTo(target);
    }

    /** Replays recent events from the sealed copy; emits every instant whose value changed. */
    private List<Update> correct(EntityState state) {
        Position replay = state.sealed.deepCopy();
        if (replay.lastInstant != NONE) {
            replay.lastValues = valueAt(replay, replay.lastInstant);
        }
        RecentEvents recent = state.recent;
        long newestRecent = recent.time(recent.size() - 1);
        long liveLast = state.live.lastInstant;
        // Python's `live.last_instant or recent[-1][0]` also falls back when last_instant is 0.
        long until = Math.max(liveLast == NONE || liveLast == 0 ? newestRecent : liveLast, newestRecent);
        Object[] base = replay.lastValues;
        List<Update> fresh = walk(replay, recent.times(), recent.inputsArray(), recent.size(), until);
        Steps old = state.steps;
        Steps steps = new Steps(old.size() + fresh.size());
        List<Update> updates = new ArrayList<>();
        // Walk both step functions; `shown` is what the history shows at p once the corrections
        // before p are in: an existing row at p, else the previous value.
        Object[] newValue = base;
        Object[] shown = base;
        int i = 0;
        int j = 0;
        while (i < fresh.size() || j < old.size()) {
            long p;
            if (j == old.size() || (i < fresh.size() && fresh.get(i).validFrom <= old.instant(j))) {
                p = fresh.get(i).validFrom;
            } else {
                p = old.instant(j);
            }
            int revision = Steps.NO_REVISION;
            if (i < fresh.size() && fresh.get(i).validFrom == p) {
                newValue = fresh.get(i++).values;
            }
            if (j < old.size() && old.instant(j) == p) {
                shown = old.values(j);
                revision = old.revision(j++);
            }
            if (!Values.same(newValue, shown)) {
                revision++;
                updates.add(new Update(p, newValue, revision));
            }
            steps.put(p, newValue, revision);
            shown = newValue;
        }
        state.steps = steps;
        state.live = replay;
        return updates;
    }

    /** a - b, saturating at Long.MIN_VALUE (Python's ints never wrap; watermarks start at MIN). */
    static long minus(long a, long b) {
        long r = a - b;
        return ((a ^ b) & (a ^ r)) < 0 ? Long.MIN_VALUE : r;
    }
}
