package io.skewless.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.skewless.engine.TileEngine;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The testing kit's spec-to-engine step and event lines: what they read, and what they refuse. */
class ViewEnginesTest {
    private static final String SPEC = "{\"allowed_lateness_ms\": 5, \"features\": ["
            + "{\"name\": \"c\", \"op\": \"count\", \"column\": null, \"window_ms\": 7200000, \"hop_ms\": 3600000, \"params\": []},"
            + "{\"name\": \"l\", \"op\": \"last_n\", \"column\": \"x\", \"window_ms\": null, \"hop_ms\": null, \"params\": [[\"n\", 2]]}]}";

    @Test
    void buildsOneOperationPerFeatureWithTheSpecsLateness() {
        TileEngine engine = ViewEngines.fromSpec(SPEC, TileEngine.NONE);
        assertEquals(2, engine.featureCount());
        assertTrue(engine.accepts(11, 15)); // within 5 ms of the watermark
        assertTrue(!engine.accepts(10, 15));
    }

    @Test
    void refusesWhatIsNotAViewSpecByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ViewEngines.fromSpec("{", 0))
                .getMessage().startsWith("the view spec is not JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ViewEngines.fromSpec("{\"features\": []}", 0))
                .getMessage().contains("non-empty 'features'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ViewEngines.fromSpec("{\"features\": [{}]}", 0))
                .getMessage().contains("feature #0 of the view spec has no 'op'"));
    }

    @Test
    void eventLinesCarryTheDecodersValueTypes() {
        Map<String, Object> row = JsonRows.read("{\"k\": \"a\", \"t\": 1, \"x\": 2.5, \"b\": true, \"n\": null, \"z\": NaN}");
        assertEquals(1L, row.get("t"));
        assertEquals(2.5, row.get("x"));
        assertTrue(Double.isNaN((Double) row.get("z")));
        assertEquals("{\"k\":\"a\",\"t\":1,\"x\":2.5,\"b\":true,\"n\":null,\"z\":NaN}", JsonRows.write(row));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> JsonRows.read("{\"r\": {}}"))
                .getMessage().contains("'r' is a record"));
        String tooBig = assertThrows(IllegalArgumentException.class, () -> JsonRows.read("{\"big\": 99999999999999999999}"))
                .getMessage();
        assertTrue(tooBig.contains("(99999999999999999999) out of range of long"), tooBig);
    }
}
