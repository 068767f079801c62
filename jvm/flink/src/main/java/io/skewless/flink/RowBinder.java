package io.skewless.flink;

import com.datastax.oss.driver.api.core.ConsistencyLevel;
import com.datastax.oss.driver.api.core.DefaultConsistencyLevel;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.BoundStatementBuilder;
import com.datastax.oss.driver.api.core.cql.ColumnDefinition;
import com.datastax.oss.driver.api.core.cql.ColumnDefinitions;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.data.CqlVector;
import com.datastax.oss.driver.api.core.type.DataType;
import com.datastax.oss.driver.api.core.type.DataTypes;
import com.datastax.oss.driver.api.core.type.ListType;
import com.datastax.oss.driver.api.core.type.SetType;
import com.datastax.oss.driver.api.core.type.VectorType;
import com.datastax.oss.driver.api.core.type.codec.TypeCodec;
import com.datastax.oss.driver.api.core.type.codec.registry.CodecRegistry;
import java.lang.reflect.Array;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Function;
import org.apache.flink.types.Row;

/**
 * Binds a Flink {@link Row} to the prepared upsert: field i to column marker i (converted by
 * that column's CQL type), then the version to {@code USING TIMESTAMP} and the remaining TTL.
 *
 * <p>A null field binds as CQL null, i.e. a cell tombstone carrying the write timestamp. "No
 * value" is a real state of a feature and must replace an older value; leaving the column unset
 * would let an older non-null value show through, and a late older write could not be ordered
 * against it.
 */
final class RowBinder {
    private static final String TIMESTAMP_MARKER = "[timestamp]";
    private static final String TTL_MARKER = "[ttl]";

    private final PreparedStatement prepared;
    private final CodecRegistry codecs;
    private final String[] names;
    private final DataType[] types;
    private final List<Function<Object, Object>> converters;
    // Per column, the codec of the last value class seen: the registry lookup per value was a
    // tenth of the sink's time, and a column's converted values are almost always one class.
    private final Class<?>[] codecClasses;
    private final TypeCodec<Object>[] lastCodecs;
    private final int validFromIndex;
    private final int versionIndex;
    private final long ttlSeconds;
    private final ConsistencyLevel consistency;

    RowBinder(PreparedStatement prepared, CodecRegistry codecs, CassandraSinkConfig config) {
        this.prepared = prepared;
        this.codecs = codecs;
        this.ttlSeconds = config.ttlSeconds();
        this.validFromIndex = config.validFromIndex();
        this.versionIndex = config.versionIndex();
        this.consistency = DefaultConsistencyLevel.valueOf(config.consistencyLevel());
        ColumnDefinitions vars = prepared.getVariableDefinitions();
        int n = vars.size() - 2;
        if (n < 1
                || !TIMESTAMP_MARKER.equals(vars.get(n).getName().asInternal())
                || !TTL_MARKER.equals(vars.get(n + 1).getName().asInternal())) {
            throw new IllegalArgumentException(
                    "statement must bind columns then 'USING TIMESTAMP ? AND TTL ?': " + config.statement());
        }
        if (validFromIndex >= n || versionIndex >= n) {
            throw new IllegalArgumentException(
                    "validFromIndex " + validFromIndex + " / versionIndex " + versionIndex
                            + " out of range for " + n + " column markers in: " + config.statement());
        }
        names = new String[n];
        types = new DataType[n];
        codecClasses = new Class<?>[n];
        @SuppressWarnings("unchecked")
        TypeCodec<Object>[] codecArray = (TypeCodec<Object>[]) new TypeCodec<?>[n];
        lastCodecs = codecArray;
        converters = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ColumnDefinition def = vars.get(i);
            names[i] = def.getName().asCql(true);
            types[i] = def.getType();
            converters.add(converterFor(def.getType()));
        }
    }

    BoundStatement bind(Row row, long nowMs) {
        if (row.getArity() != names.length) {
            throw new IllegalArgumentException(
                    "row has " + row.getArity() + " fields but the statement binds " + names.length
                            + " columns " + String.join(", ", names) + ": " + brief(row));
        }
        Object version = row.getField(versionIndex);
        Object validFrom = row.getField(validFromIndex);
        if (!(version instanceof Long || version instanceof Integer)) {
            throw new IllegalArgumentException(
                    "field " + versionIndex + " (version, microseconds) must be a non-null LONG: " + brief(row));
        }
        if (!(validFrom instanceof Long || validFrom instanceof Integer)) {
            throw new IllegalArgumentException(
                    "field " + validFromIndex + " (valid_from, epoch ms) must be a non-null LONG: " + brief(row));
        }
        BoundStatementBuilder b = prepared.boundStatementBuilder()
                .setIdempotence(true) // deterministic USING TIMESTAMP: a retry cannot change the outcome
                .setConsistencyLevel(consistency);
        for (int i = 0; i < names.length; i++) {
            Object raw = row.getField(i);
            if (raw == null) {
                b.setToNull(i);
                continue;
            }
            try {
                Object value = converters.get(i).apply(raw);
                b.set(i, value, codecFor(i, value));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "cannot bind " + raw.getClass().getName() + " value " + brief(raw) + " to column " + names[i]
                                + " of CQL type " + types[i].asCql(false, true) + ": " + e.getMessage(), e);
            }
        }
        b.setLong(names.length, ((Number) version).longValue());
        b.setInt(names.length + 1, StorageTtl.seconds(((Number) validFrom).longValue(), nowMs, ttlSeconds));
        return b.build();
    }

    private TypeCodec<Object> codecFor(int column, Object value) {
        if (value.getClass() != codecClasses[column]) {
            lastCodecs[column] = codecs.codecFor(types[column], value);
            codecClasses[column] = value.getClass();
        }
        return lastCodecs[column];
    }

    /** Values end up in exception messages; a 70 kB key should not. */
    private static String brief(Object value) {
        String text = String.valueOf(value);
        return text.length() <= 300 ? text : text.substring(0, 300) + "...(" + text.length() + " chars)";
    }

    /** Maps what PyFlink's Types produce (Long for LONG, Instant, arrays...) to the driver's Java types. */
    static Function<Object, Object> converterFor(DataType type) {
        if (type.equals(DataTypes.TIMESTAMP)) {
            return RowBinder::toInstant;
        }
        if (type.equals(DataTypes.BIGINT) || type.equals(DataTypes.COUNTER)) {
            return v -> integral(v).longValue();
        }
        if (type.equals(DataTypes.INT)) {
            return v -> Math.toIntExact(integral(v).longValue());
        }
        if (type.equals(DataTypes.SMALLINT)) {
            return v -> (short) Math.toIntExact(integral(v).longValue());
        }
        if (type.equals(DataTypes.TINYINT)) {
            return v -> (byte) Math.toIntExact(integral(v).longValue());
        }
        if (type.equals(DataTypes.DOUBLE)) {
            return v -> number(v).doubleValue();
        }
        if (type.equals(DataTypes.FLOAT)) {
            return v -> number(v).floatValue();
        }
        if (type.equals(DataTypes.DATE)) {
            return RowBinder::toLocalDate;
        }
        if (type instanceof ListType) {
            Function<Object, Object> element = converterFor(((ListType) type).getElementType());
            return v -> elements(v, element);
        }
        if (type instanceof SetType) {
            Function<Object, Object> element = converterFor(((SetType) type).getElementType());
            return v -> new LinkedHashSet<>(elements(v, element));
        }
        if (type instanceof VectorType) {
            Function<Object, Object> element = converterFor(((VectorType) type).getElementType());
            int dims = ((VectorType) type).getDimensions();
            return v -> {
                List<Object> list = elements(v, element);
                if (list.size() != dims) {
                    throw new IllegalArgumentException("expected " + dims + " elements, got " + list.size());
                }
                return CqlVector.newInstance(list);
            };
        }
        // text, boolean, uuid, blob, decimal...: the driver's codecs accept Flink's Java values as is.
        return Function.identity();
    }

    private static Number integral(Object v) {
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return (Number) v;
        }
        throw new IllegalArgumentException("expected an integral number");
    }

    private static Number number(Object v) {
        if (v instanceof Number) {
            return (Number) v;
        }
        throw new IllegalArgumentException("expected a number");
    }

    private static Instant toInstant(Object v) {
        if (v instanceof Long || v instanceof Integer) {
            return Instant.ofEpochMilli(((Number) v).longValue()); // epoch ms at every boundary
        }
        if (v instanceof Instant) {
            return (Instant) v;
        }
        if (v instanceof java.sql.Timestamp) {
            return ((java.sql.Timestamp) v).toInstant();
        }
        if (v instanceof LocalDateTime) {
            return ((LocalDateTime) v).toInstant(ZoneOffset.UTC);
        }
        throw new IllegalArgumentException("expected epoch ms (LONG), Instant or timestamp");
    }

    private static LocalDate toLocalDate(Object v) {
        if (v instanceof LocalDate) {
            return (LocalDate) v;
        }
        if (v instanceof java.sql.Date) {
            return ((java.sql.Date) v).toLocalDate();
        }
        if (v instanceof Long || v instanceof Integer) {
            return LocalDate.ofEpochDay(((Number) v).longValue());
        }
        throw new IllegalArgumentException("expected a date or epoch days");
    }

    private static List<Object> elements(Object v, Function<Object, Object> element) {
        List<Object> out = new ArrayList<>();
        if (v instanceof Collection) {
            for (Object e : (Collection<?>) v) {
                out.add(e == null ? null : element.apply(e));
            }
        } else if (v.getClass().isArray()) {
            int len = Array.getLength(v);
            for (int i = 0; i < len; i++) {
                Object e = Array.get(v, i);
                out.add(e == null ? null : element.apply(e));
            }
        } else {
            throw new IllegalArgumentException("expected an array or a collection");
        }
        return out;
    }
}
