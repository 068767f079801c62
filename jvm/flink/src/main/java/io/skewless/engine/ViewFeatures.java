package io.skewless.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A view's features as the engine needs them, read from its compiled spec (the JSON of Python's
 * {@code ViewSpec.to_dict()}): the one reading of a spec's features, shared by the job
 * ({@code io.skewless.flink.JobSpec}) and the testing kit ({@code io.skewless.testing}).
 *
 * <p>Per feature: its name, operation, input column (null for none), hop (0 for a lifetime
 * window), tile count (1 for a lifetime window), parameters as the flat JSON object
 * {@link Params#parse} reads (null for none) and value type (null for an operation the
 * catalogue does not know, which {@link TileEngine#of} then refuses by name).
 */
public record ViewFeatures(String[] names, String[] ops, String[] columns, long[] hopMs, int[] tiles,
        String[] params, ValueType[] types, long allowedLatenessMs) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** @throws IllegalArgumentException naming what is missing, when {@code spec} is not a view spec */
    public static ViewFeatures fromSpec(JsonNode spec) {
        JsonNode features = spec == null ? null : spec.get("features");
        if (features == null || !features.isArray() || features.isEmpty()) {
            throw new IllegalArgumentException("the view spec needs a non-empty 'features' list");
        }
        int n = features.size();
        String[] names = new String[n];
        String[] ops = new String[n];
        String[] columns = new String[n];
        long[] hopMs = new long[n];
        int[] tiles = new int[n];
        String[] params = new String[n];
        ValueType[] types = new ValueType[n];
        for (int i = 0; i < n; i++) {
            JsonNode f = features.get(i);
            JsonNode op = f.get("op");
            if (op == null || !op.isTextual()) {
                throw new IllegalArgumentException("feature #" + i + " of the view spec has no 'op'");
            }
            names[i] = f.path("name").asText();
            ops[i] = op.asText();
            columns[i] = present(f.path("column")) ? f.path("column").asText() : null;
            JsonNode window = f.path("window_ms");
            JsonNode hop = f.path("hop_ms");
            boolean lifetime = !present(window) || !present(hop) || hop.asLong() == 0;
            hopMs[i] = lifetime ? 0 : hop.asLong();
            tiles[i] = lifetime ? 1 : (int) (window.asLong() / hop.asLong());
            params[i] = f.path("params").isEmpty() ? null : byName(f.path("params"));
            Catalogue.Operation known = Catalogue.get().find(ops[i]);
            types[i] = known == null ? null : known.valueType();
        }
        return new ViewFeatures(names, ops, columns, hopMs, tiles, params, types,
                spec.path("allowed_lateness_ms").asLong(0));
    }

    /** The view's engine; {@code expiryHorizon} is epoch ms where tile expiry stops, or {@link TileEngine#NONE}. */
    public TileEngine engine(long expiryHorizon) {
        return TileEngine.of(ops, hopMs, tiles, params, allowedLatenessMs, expiryHorizon);
    }

    private static boolean present(JsonNode node) {
        return !node.isNull() && !node.isMissingNode();
    }

    /** A feature's sorted (name, value) pairs as one flat JSON object. */
    private static String byName(JsonNode pairs) {
        ObjectNode out = JSON.createObjectNode();
        for (JsonNode p : pairs) {
            out.set(p.get(0).asText(), p.get(1));
        }
        return out.toString();
    }
}
