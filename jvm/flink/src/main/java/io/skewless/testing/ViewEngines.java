package io.skewless.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skewless.engine.TileEngine;
import io.skewless.engine.ViewFeatures;

/** A view's {@link TileEngine} from its compiled spec, the JSON of Python's {@code ViewSpec.to_dict()}, read as the job reads it ({@link ViewFeatures}). */
public final class ViewEngines {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ViewEngines() {
    }

    /**
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
        return ViewFeatures.fromSpec(spec).engine(expiryHorizon);
    }
}
