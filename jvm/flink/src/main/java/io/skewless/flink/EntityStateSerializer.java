package io.skewless.flink;

import io.skewless.engine.EntityState;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Keyed state of the tile operator as live {@link EntityState} objects.
 *
 * <p>With the heap state backend the operator then works on the object itself: no encode and decode
 * per event (and the engine's merged-prefix memo survives between events). Bytes are made only for
 * checkpoints and savepoints, as a length-prefixed {@link EntityState#encode()}; {@link #copy} is a
 * deep copy through that encoding, which the copy-on-write heap snapshots rely on.
 */
public final class EntityStateSerializer extends TypeSerializer<EntityState> {
    private static final long serialVersionUID = 1L;

    public static final EntityStateSerializer INSTANCE = new EntityStateSerializer();

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<EntityState> duplicate() {
        return this; // stateless
    }

    @Override
    public EntityState createInstance() {
        return null; // the feature count comes from the engine, which creates fresh states
    }

    @Override
    public EntityState copy(EntityState from) {
        return from == null ? null : EntityState.decode(from.encode());
    }

    @Override
    public EntityState copy(EntityState from, EntityState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(EntityState record, DataOutputView target) throws IOException {
        byte[] bytes = record.encode();
        target.writeInt(bytes.length);
        target.write(bytes);
    }

    @Override
    public EntityState deserialize(DataInputView source) throws IOException {
        byte[] bytes = new byte[source.readInt()];
        source.readFully(bytes);
        return EntityState.decode(bytes);
    }

    @Override
    public EntityState deserialize(EntityState reuse, DataInputView source) throws IOException {
        return deserialize(source);
    }

    @Override
    public void copy(DataInputView source, DataOutputView target) throws IOException {
        int length = source.readInt();
        target.writeInt(length);
        target.write(source, length);
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof EntityStateSerializer;
    }

    @Override
    public int hashCode() {
        return EntityStateSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<EntityState> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores as the same serializer: the encoding carries its own format version. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<EntityState> {
        public Snapshot() {
            super(() -> INSTANCE);
        }
    }
}
