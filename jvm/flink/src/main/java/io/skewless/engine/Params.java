package io.skewless.engine;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Operation parameters: parsed from a flat JSON object ({@code {"n": 3}}, what Python's json.dumps of
 * FeatureSpec.param gives) or {@code n=3,q=0.5}, then checked against the operation's declared ranges and
 * messages. Values are Long, Double or Boolean (booleans are parsed only to be refused).
 */
public final class Params {
    private final Map<String, Object> values;

    private Params(Map<String, Object> values) {
        this.values = values;
    }

    public static Params of(Map<String, Object> values) {
        return new Params(new LinkedHashMap<>(values));
    }

    public static Params parse(String text) {
        if (text == null || text.isBlank()) {
            return new Params(Collections.emptyMap());
        }
        String body = text.strip();
        boolean json = body.startsWith("{");
        if (json) {
            if (!body.endsWith("}")) {
                throw new IllegalArgumentException("malformed parameters " + text + ": expected a JSON object");
            }
            body = body.substring(1, body.length() - 1).strip();
        }
        Map<String, Object> values = new LinkedHashMap<>();
        if (body.isEmpty()) {
            return new Params(values);
        }
        for (String item : body.split(json ? "," : "[,;]")) {
            int sep = item.indexOf(json ? ':' : '=');
            if (sep < 0) {
                throw new IllegalArgumentException("malformed parameter " + item.strip() + " in " + text);
            }
            String name = item.substring(0, sep).strip();
            if (json) {
                if (name.length() < 2 || !name.startsWith("\"") || !name.endsWith("\"")) {
                    throw new IllegalArgumentException("malformed parameter name " + name + " in " + text);
                }
                name = name.substring(1, name.length() - 1);
            }
            values.put(name, literal(item.substring(sep + 1).strip(), text));
        }
        return new Params(values);
    }

    private static Object literal(String s, String text) {
        if (s.equals("true") || s.equals("false")) {
            return Boolean.valueOf(s);
        }
        try {
            if (s.matches("[+-]?\\d+")) {
                return Long.valueOf(s);
            }
            return Double.valueOf(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("parameter value " + s + " in " + text + " is not a number");
        }
    }

    /** An integer parameter in [lo, hi] (an integral float is accepted, as in Python). */
    public int integer(String name, Integer defaultValue, int lo, int hi) {
        Object v = take(name, defaultValue);
        if (v instanceof Boolean || !(v instanceof Number)) {
            throw new IllegalArgumentException(name + " must be an integer, got " + repr(v));
        }
        double d = ((Number) v).doubleValue();
        if (d != Math.rint(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException(name + " must be an integer, got " + repr(v));
        }
        if (d < lo || d > hi) {
            throw new IllegalArgumentException(name + " must be in [" + lo + ", " + hi + "], got " + repr(v));
        }
        return (int) d;
    }

    /** A number parameter in [lo, hi]. */
    public double number(String name, Double defaultValue, double lo, double hi) {
        Object v = take(name, defaultValue);
        if (v instanceof Boolean || !(v instanceof Number) || !(((Number) v).doubleValue() >= lo) || ((Number) v).doubleValue() > hi) {
            throw new IllegalArgumentException(
                    name + " must be a number in [" + lo + ", " + hi + "], got " + repr(v));
        }
        return ((Number) v).doubleValue();
    }

    private Object take(String name, Object defaultValue) {
        if (values.containsKey(name)) {
            return values.get(name);
        }
        if (defaultValue == null) {
            throw new IllegalArgumentException("parameter '" + name + "' is required");
        }
        return defaultValue;
    }

    /** Refuses any parameter not in {@code allowed} (sorted names). */
    public void checkNoneUnknown(java.util.List<String> allowedNames) {
        Set<String> unknown = new TreeSet<>(values.keySet());
        unknown.removeAll(allowedNames);
        if (!unknown.isEmpty()) {
            String allowed = allowedNames.isEmpty() ? "none" : String.join(", ", allowedNames);
            throw new IllegalArgumentException(
                    "unknown parameter(s) " + String.join(", ", unknown) + "; allowed: " + allowed);
        }
    }

    private static String repr(Object v) {
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        return String.valueOf(v);
    }
}
