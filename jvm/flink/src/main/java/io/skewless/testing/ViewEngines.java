package io.skewless.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skewless.engine.TileEngine;

/**
 * A view's {@link TileEngine} from its compiled spec, the JSON of Python's {@code ViewSpec.to_dict()}.
 *
 * <p>This is the testing kit's only spec-to-engine step, kept in one method so it can follow the
 * job's operator ({@code io.skewless.flink.TileAggregatorFunction}) when that builds its engine
 * from the spec JSON too: both end in {@link TileEngine#of}, with the same per-feature arrays
 * udfs/aggregator.py passes (op, hop or 0, window/hop tiles or 1, the params as a JSON object).
 */
public final class ViewEngines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ViewEngines() {
    }

    /**
     * Reads {@code features[]} (op, window_ms, hop_ms, params as [name, value] pairs) and
     * {@code allowed_lateness_ms}; other spec fields are the Python side's concern.
     *
     * @param expiryHorizon epoch ms where tile-expiry instants stop, or {@link TileEngine#NONE}
     * @throws IllegalArgumentException naming the field, when the JSON is not a view spec
     */
    public static TileEngine fromSpec(String viewSpecJson, long expiryHorizon) {
        JsonNode spec;
        try {
            spec = JSON.readTree(viewSpecJson);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the view spec is not JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode features = spec == null ? null : spec.get("features");
        if (features == null || !features.isArray() || features.isEmpty()) {
            throw new IllegalArgumentException("the view spec needs a non-empty 'features' list");
        }
        int n = features.size();
        String[] ops = new String[n];
        long[] hops = new long[n];
        int[] tiles = new int[n];
        String[] params = new String[n];
        for (int i = 0; i < n; i++) {
            JsonNode f = features.get(i);
            JsonNode op = f.get("op");
            if (op == null || !op.isTextual()) {
                throw new IllegalArgumentException("feature #" + i + " of the view spec has no 'op'");
            }
            ops[i] = op.asText();
            JsonNode window = f.path("window_ms");
            JsonNode hop = f.path("hop_ms");
            boolean lifetime = window.isMissingNode() || window.isNull();
            hops[i] = lifetime || hop.isNull() ? 0 : hop.asLong();
            tiles[i] = lifetime || hops[i] == 0 ? 1 : (int) (window.asLong() / hops[i]);
            ObjectNode byName = JSON.createObjectNode();
            for (JsonNode pair : f.path("params")) {
                byName.set(pair.get(0).asText(), pair.get(1));
            }
            params[i] = byName.toString();
        }
        return TileEngine.of(ops, hops, tiles, params, spec.path("allowed_lateness_ms").asLong(0), expiryHorizon);
    }
}
