package io.skewless.logic;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Set;

/**
 * One node of an expression tree, read from the JSON skewless.expressions writes (format version 2,
 * in its module doc). Operands evaluate left to right; and, or, if and coalesce short-circuit.
 */
abstract class Node {
    abstract Object eval(Map<String, Object> row);

    static Node fromJson(JsonNode n) {
        String kind = text(n, "node");
        switch (kind) {
            case "const":
                return new Const(constant(n));
            case "field":
                return new Field(text(n, "name"));
            case "binary":
                return new Binary(known(Operators.ARITHMETIC, text(n, "op")), fromJson(n.get("left")), fromJson(n.get("right")));
            case "unary":
                return new Unary(text(n, "op"), fromJson(n.get("operand")));
            case "and":
            case "or":
                return new AndOr(kind, list(n.get("values")));
            case "compare": {
                JsonNode ops = n.get("ops");
                String[] names = new String[ops.size()];
                for (int i = 0; i < names.length; i++) {
                    names[i] = known(Operators.COMPARISONS, ops.get(i).asText());
                }
                Node[] rest = list(n.get("rest"));
                if (rest.length != names.length || names.length == 0) {
                    throw new IllegalArgumentException("compare needs one operand per operator");
                }
                return new Compare(fromJson(n.get("first")), names, rest);
            }
            case "if":
                return new IfElse(fromJson(n.get("test")), fromJson(n.get("body")), fromJson(n.get("orelse")));
            case "tuple":
                return new TupleNode(list(n.get("items")));
            case "call": {
                Node[] args = list(n.get("args"));
                return new Call(Functions.checked(text(n, "function"), args.length), args);
            }
            default:
                throw new IllegalArgumentException("unknown node " + kind);
        }
    }

    private static Object constant(JsonNode n) {
        JsonNode v = n.get("value");
        switch (text(n, "type")) {
            case "long":
                if (!v.canConvertToExactIntegral() || !v.canConvertToLong()) {
                    throw new IllegalArgumentException("long constant " + v + " is not a 64-bit integer");
                }
                return v.longValue();
            case "double":
                return v.doubleValue();
            case "string":
                return v.textValue();
            case "boolean":
                return v.booleanValue();
            case "null":
                return null;
            default:
                throw new IllegalArgumentException("unknown constant type " + n.get("type"));
        }
    }

    private static String text(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("node " + n + " lacks \"" + key + "\"");
        }
        return v.textValue();
    }

    private static String known(Set<String> names, String name) {
        if (!names.contains(name)) {
            throw new IllegalArgumentException("unknown operator or function " + name);
        }
        return name;
    }

    private static Node[] list(JsonNode items) {
        Node[] nodes = new Node[items.size()];
        for (int i = 0; i < nodes.length; i++) {
            nodes[i] = fromJson(items.get(i));
        }
        return nodes;
    }

    private static final class Const extends Node {
        private final Object value;

        Const(Object value) {
            this.value = value;
        }

        @Override
        Object eval(Map<String, Object> row) {
            return value;
        }
    }

    private static final class Field extends Node {
        private final String name;

        Field(String name) {
            this.name = name;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object v = row.get(name);
            if (v == null && !row.containsKey(name)) {
                throw new Failure("missing_field", name);
            }
            if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
                return ((Number) v).longValue(); // widen what a connector may hand over
            }
            return v instanceof Float f ? (Object) f.doubleValue() : v;
        }
    }

    private static final class Binary extends Node {
        private final String op;
        private final Node left;
        private final Node right;

        Binary(String op, Node left, Node right) {
            this.op = op;
            this.left = left;
            this.right = right;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object a = left.eval(row);
            return Operators.arith(op, a, right.eval(row));
        }
    }

    private static final class Unary extends Node {
        private final String op;
        private final Node operand;

        Unary(String op, Node operand) {
            if (!op.equals("-") && !op.equals("+") && !op.equals("not")) {
                throw new IllegalArgumentException("unknown unary operator " + op);
            }
            this.op = op;
            this.operand = operand;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object v = operand.eval(row);
            switch (op) {
                case "-": return Operators.negate(v);
                case "+": return Operators.plus(v);
                default: return !Operators.truth("not", v);
            }
        }
    }

    /** and: false at the first false operand; or: true at the first true one. */
    private static final class AndOr extends Node {
        private final String op;
        private final boolean stop;
        private final Node[] values;

        AndOr(String op, Node[] values) {
            this.op = op;
            this.stop = op.equals("or");
            this.values = values;
        }

        @Override
        Object eval(Map<String, Object> row) {
            for (Node node : values) {
                if (Operators.truth(op, node.eval(row)) == stop) {
                    return stop;
                }
            }
            return !stop;
        }
    }

    /** a < b < c: each operand evaluated once, stopping at the first false link. */
    private static final class Compare extends Node {
        private final Node first;
        private final String[] ops;
        private final Node[] rest;

        Compare(Node first, String[] ops, Node[] rest) {
            this.first = first;
            this.ops = ops;
            this.rest = rest;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object left = first.eval(row);
            for (int i = 0; i < ops.length; i++) {
                Object right = rest[i].eval(row);
                if (!Operators.compare(ops[i], left, right)) {
                    return Boolean.FALSE;
                }
                left = right;
            }
            return Boolean.TRUE;
        }
    }

    private static final class IfElse extends Node {
        private final Node test;
        private final Node body;
        private final Node orelse;

        IfElse(Node test, Node body, Node orelse) {
            this.test = test;
            this.body = body;
            this.orelse = orelse;
        }

        @Override
        Object eval(Map<String, Object> row) {
            return Operators.truth("if", test.eval(row)) ? body.eval(row) : orelse.eval(row);
        }
    }

    /** A literal tuple: only ever the right side of 'in' / 'not in'. */
    private static final class TupleNode extends Node {
        private final Node[] items;

        TupleNode(Node[] items) {
            this.items = items;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object[] values = new Object[items.length];
            for (int i = 0; i < items.length; i++) {
                values[i] = items[i].eval(row);
            }
            return values;
        }
    }

    private static final class Call extends Node {
        private final String function;
        private final Node[] args;

        Call(String function, Node[] args) {
            this.function = function;
            this.args = args;
        }

        @Override
        Object eval(Map<String, Object> row) {
            if (function.equals("coalesce")) { // the first non-null argument; later ones are not evaluated
                for (Node arg : args) {
                    Object v = arg.eval(row);
                    if (v != null) {
                        return v;
                    }
                }
                return null;
            }
            Object[] values = new Object[args.length];
            for (int i = 0; i < args.length; i++) {
                values[i] = args[i].eval(row);
            }
            return Functions.call(function, values);
        }
    }
}
