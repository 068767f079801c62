package io.skewless.logic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The JVM evaluator against tests/conformance/expressions.json, the table skewless.expressions
 * passes too (tests/unit/skewless/expressions/test_conformance.py): each case's tree, as Python parsed it,
 * on its row, gives the expected typed value or the expected reason.
 */
class ConformanceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The table, found by walking up from the module directory to the repository root. */
    static JsonNode table() throws IOException {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path table = dir.resolve("tests/conformance/expressions.json");
            if (Files.isRegularFile(table)) {
                return JSON.readTree(table.toFile());
            }
        }
        throw new IOException("tests/conformance/expressions.json not found above " + Path.of("").toAbsolutePath());
    }

    @TestFactory
    Stream<DynamicTest> derivedColumns() throws IOException {
        return section("cases", "expression", false);
    }

    @TestFactory
    Stream<DynamicTest> filters() throws IOException {
        return section("filters", "filter", true);
    }

    private static Stream<DynamicTest> section(String name, String sourceKey, boolean asFilter) throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : table().get(name)) {
            String source = c.get(sourceKey).textValue();
            tests.add(DynamicTest.dynamicTest(source, () -> check(c, source, asFilter)));
        }
        return tests.stream();
    }

    @Test
    void theTableIsAsLargeAsTheSpecPromises() throws IOException {
        assertTrue(table().get("cases").size() >= 250);
    }

    @Test
    void aTreeOfAnotherVersionIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RowLogic.fromJson("{\"version\":1,\"derived\":[],\"filter\":null}"));
        assertTrue(e.getMessage().contains("unsupported row logic version 1"), e.getMessage());
    }

    @Test
    void aCallWithTheWrongNumberOfArgumentsIsRefused() {
        String json = "{\"version\":2,\"derived\":[{\"name\":\"x\",\"what\":\"w\",\"source\":\"abs()\","
                + "\"tree\":{\"node\":\"call\",\"function\":\"abs\",\"args\":[]}}],\"filter\":null}";
        assertThrows(IllegalArgumentException.class, () -> RowLogic.fromJson(json));
    }

    private static void check(JsonNode c, String source, boolean asFilter) throws IOException {
        String what = asFilter ? "filter" : "derived column 'x'";
        ObjectNode expression = JSON.createObjectNode().put("what", what).put("source", source);
        expression.set("tree", c.get("tree"));
        ObjectNode doc = JSON.createObjectNode().put("version", RowLogic.FORMAT_VERSION);
        if (asFilter) {
            doc.putArray("derived");
            doc.set("filter", expression);
        } else {
            doc.putArray("derived").add(expression.put("name", "x"));
            doc.putNull("filter");
        }
        RowLogic logic = RowLogic.fromJson(JSON.writeValueAsString(doc));
        Map<String, Object> row = row(c.get("row"));
        JsonNode expected = c.get("expected");
        if (expected.has("error")) {
            RowLogicException e = assertThrows(RowLogicException.class, () -> logic.apply(row));
            String code = expected.get("error").textValue();
            assertEquals(what + " \"" + source + "\": row_logic." + code + ": " + expected.get("detail").textValue(), e.reason());
            assertEquals(code, e.code());
        } else if (asFilter) {
            assertEquals(expected.get("kept").booleanValue(), logic.apply(row) != null);
        } else {
            Map<String, Object> out = logic.apply(row);
            assertNotNull(out);
            assertEquals(typed(expected), out.get("x"));
        }
    }

    private static Map<String, Object> row(JsonNode typedRow) {
        Map<String, Object> row = new HashMap<>();
        typedRow.fields().forEachRemaining(e -> row.put(e.getKey(), typed(e.getValue())));
        return row;
    }

    /** {"long": 3} -> 3L, {"double": -0.0} -> -0.0 (Double.equals tells the zeros apart), {"x": null} -> null. */
    private static Object typed(JsonNode value) {
        Map.Entry<String, JsonNode> e = value.fields().next();
        JsonNode v = e.getValue();
        if (v.isNull()) {
            return null;
        }
        switch (e.getKey()) {
            case "long": return v.longValue();
            case "double": return v.doubleValue();
            case "string": return v.textValue();
            case "boolean": return v.booleanValue();
            default: throw new IllegalArgumentException("unknown value type " + e.getKey());
        }
    }
}
