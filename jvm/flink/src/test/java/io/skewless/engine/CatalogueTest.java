package io.skewless.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The engine's operations come from the catalogue resource (the export of skewless.operations). */
class CatalogueTest {
    private static Map<String, Object> required(Catalogue.Operation op) {
        Map<String, Object> given = new HashMap<>();
        for (Catalogue.Param p : op.params()) {
            if (p.defaultValue() == null) {
                given.put(p.name(), p.integer() ? (Object) p.lo().longValue() : (Object) p.lo().doubleValue());
            }
        }
        return given;
    }

    @Test
    void theCatalogueLoads() {
        Map<String, Catalogue.Operation> ops = Catalogue.get().operations();
        assertFalse(ops.isEmpty());
        assertEquals(ops.keySet().stream().toList(), Operations.NAMES);
        assertEquals("bigint", ops.get("count").cqlType());
        assertFalse(ops.get("count").needsColumn());
        assertEquals(2048, ops.get("approx_percentile").params().get(2).defaultValue());
    }

    @Test
    void everyOperationBuildsWithItsDefaults() {
        for (Catalogue.Operation op : Catalogue.get().operations().values()) {
            Aggregation<? extends Accumulator> built = Operations.create(op.name(), Params.of(required(op)));
            assertEquals(op.name(), built.name());
            assertEquals(op.valueType(), built.valueType(), op.name());
        }
    }

    @Test
    void outOfRangeParametersAreRefusedWithTheCataloguesMessage() {
        int checked = 0;
        for (Catalogue.Operation op : Catalogue.get().operations().values()) {
            for (Catalogue.Param p : op.params()) {
                for (boolean low : new boolean[] {true, false}) {
                    Map<String, Object> given = required(op);
                    Object bad = p.integer()
                            ? (Object) (low ? p.lo().longValue() - 1 : p.hi().longValue() + 1)
                            : (Object) (low ? p.lo().doubleValue() - 1 : p.hi().doubleValue() + 1);
                    given.put(p.name(), bad);
                    String range = "[" + p.lo() + ", " + p.hi() + "], got " + bad;
                    String want = "aggregation " + op.name() + ": " + p.name()
                            + (p.integer() ? " must be in " : " must be a number in ") + range;
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> Operations.create(op.name(), Params.of(given)));
                    assertEquals(want, e.getMessage());
                    checked++;
                }
            }
        }
        assertEquals(12, checked); // six parameters, each below and above its range
    }

    @Test
    void unknownOperationsAndParametersAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Operations.create("median", Params.parse("")));
        assertEquals(true, e.getMessage().startsWith("unknown aggregation 'median'; known: "));
        e = assertThrows(IllegalArgumentException.class, () -> Operations.create("last_n", Params.parse("{\"k\": 1}")));
        assertEquals("aggregation last_n: unknown parameter(s) k; allowed: n", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Operations.create("last_n", Params.parse("")));
        assertEquals("aggregation last_n: parameter 'n' is required", e.getMessage());
    }
}
