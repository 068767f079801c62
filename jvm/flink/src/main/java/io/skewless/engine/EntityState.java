package io.skewless.engine;

/**
 * One entity's engine state: live and sealed tiles, the events since the sealed point, the emitted
 * steps with their revisions, and the expiry timer last asked of the runtime.
 *
 * <p>Binary format (version 2): byte version; varint feature count; live position; sealed position
 * (each: zigzag last instant, values, then per feature the tiles as delta-coded keys each followed by
 * a tagged accumulator); zigzag sealedAt; recent events (count, delta-coded times, one raw double per
 * feature each); steps (count, delta-coded instants, revision + 1, values); zigzag timer. "None" is
 * {@link TileEngine#NONE}. The merged-prefix cache is a memo and is not stored.
 *
 * <p>Version 2 changed only the sketches' accumulators (tags 12 and 13: DataSketches HyperLogLog and
 * sketches-java DDSketch images). Version 1 state still decodes unless it holds one of the old
 * hand-written sketches (tags 9, 10, 11), which fails with {@link LegacySketchStateException}.
 */
public final class EntityState {
    public static final int FORMAT_VERSION = 2;
    /** The format before the library sketches: the same layout, other sketch accumulators. */
    static final int LEGACY_FORMAT_VERSION = 1;

    Position live;
    final Position sealed;
    long sealedAt = TileEngine.NONE;
    final RecentEvents recent;
    Steps steps;
    long timer = TileEngine.NONE;

    EntityState(int features) {
        this(new Position(features), new Position(features), new RecentEvents(), new Steps());
    }

    private EntityState(Position live, Position sealed, RecentEvents recent, Steps steps) {
        this.live = live;
        this.sealed = sealed;
        this.recent = recent;
        this.steps = steps;
    }

    public int featureCount() {
        return live.tiles.length;
    }

    /** The expiry timer last registered for this entity, or {@link TileEngine#NONE}. */
    public long timer() {
        return timer;
    }

    public void setTimer(long timer) {
        this.timer = timer;
    }

    public byte[] encode() {
        int features = featureCount();
        ByteWriter out = new ByteWriter(256);
        out.writeByte(FORMAT_VERSION);
        out.writeVarInt(features);
        live.write(out);
        sealed.write(out);
        out.writeSignedVarLong(sealedAt);
        recent.write(out, features);
        steps.write(out);
        out.writeSignedVarLong(timer);
        return out.toByteArray();
    }

    public static EntityState decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("corrupt engine state: empty");
        }
        ByteReader in = new ByteReader(bytes);
        int version = in.readByte();
        if (version != FORMAT_VERSION && version != LEGACY_FORMAT_VERSION) {
            throw new IllegalArgumentException("engine state format " + version + " is not supported (expects "
                    + FORMAT_VERSION + ", or " + LEGACY_FORMAT_VERSION + " without sketches)");
        }
        int features = in.readVarInt();
        Position live = Position.read(in, features);
        Position sealed = Position.read(in, features);
        long sealedAt = in.readSignedVarLong();
        RecentEvents recent = RecentEvents.read(in, features);
        Steps steps = Steps.read(in);
        EntityState state = new EntityState(live, sealed, recent, steps);
        state.sealedAt = sealedAt;
        state.timer = in.readSignedVarLong();
        if (!in.atEnd()) {
            throw new IllegalArgumentException("corrupt engine state: trailing bytes");
        }
        return state;
    }
}
