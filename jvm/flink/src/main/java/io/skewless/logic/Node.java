package io.skewless.logic;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * One node of an expression tree, read from the JSON skewless.expressions writes. Evaluation
 * mirrors the Python nodes: same order of evaluation, same short-circuits, and the same objects
 * passed through (a field's or constant's value keeps its identity, which `in` relies on).
 */
abstract class Node {
    abstract Object eval(Map<String, Object> row);

    static Node fromJson(Object json) {
        Map<?, ?> n = (Map<?, ?>) json;
        String kind = (String) n.get("node");
        switch (kind) {
            case "const":
                return new Const(constant(n));
            case "field":
                return new Field((String) n.get("name"));
            case "binary":
                return new Binary(index(Py.ARITH_SYMBOLS, (String) n.get("op")), fromJson(n.get("left")), fromJson(n.get("right")));
            case "unary":
                return new Unary((String) n.get("op"), fromJson(n.get("operand")));
            case "and":
                return new AndOr(true, list(n.get("values")));
            case "or":
                return new AndOr(false, list(n.get("values")));
            case "compare": {
                List<?> ops = (List<?>) n.get("ops");
                int[] codes = new int[ops.size()];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = index(Py.COMPARE_SYMBOLS, (String) ops.get(i));
                }
                Node[] rest = list(n.get("rest"));
                if (rest.length != codes.length || codes.length == 0) {
                    throw new IllegalArgumentException("compare needs one operand per operator");
                }
                return new Compare(fromJson(n.get("first")), codes, rest);
            }
            case "if":
                return new IfElse(fromJson(n.get("test")), fromJson(n.get("body")), fromJson(n.get("orelse")));
            case "tuple":
                return new TupleNode(list(n.get("items")));
            case "call":
                return new Call(Functions.byName((String) n.get("function")), list(n.get("args")));
            default:
                throw new IllegalArgumentException("unknown node " + kind);
        }
    }

    /** A typed constant: {"type": int|float|bool|str|none, "value": ...} (also used for records by the harness). */
    static Object constant(Map<?, ?> n) {
        Object v = n.get("value");
        switch ((String) n.get("type")) {
            case "int":
                return Py.intValue(new BigInteger((String) v));
            case "float":
                return parseFloatRepr((String) v);
            case "bool":
                return (Boolean) v;
            case "str":
                return (String) v;
            case "none":
                return null;
            default:
                throw new IllegalArgumentException("unknown constant type " + n.get("type"));
        }
    }

    /** A float as Python's repr wrote it ('1e+16', 'inf', 'nan') or as float.hex() did. */
    static Double parseFloatRepr(String text) {
        switch (text) {
            case "inf":
                return Double.POSITIVE_INFINITY;
            case "-inf":
                return Double.NEGATIVE_INFINITY;
            case "nan":
                return Double.NaN;
            default:
                return Double.parseDouble(text); // correctly rounded; accepts 0x1.8p+1 too
        }
    }

    private static int index(String[] names, String name) {
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown operator " + name);
    }

    private static Node[] list(Object json) {
        List<?> items = (List<?>) json;
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
                throw new PyError("field " + Text.repr(name) + " is missing from the event");
            }
            if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
                return ((Number) v).longValue(); // widen what a connector may hand over
            }
            if (v instanceof Float) {
                return ((Float) v).doubleValue();
            }
            return v;
        }
    }

    private static final class Binary extends Node {
        private final int op;
        private final Node left;
        private final Node right;

        Binary(int op, Node left, Node right) {
            this.op = op;
            this.left = left;
            this.right = right;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object a = left.eval(row);
            return Py.arith(op, a, right.eval(row));
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
                case "-": return Py.negate(v);
                case "+": return Py.plus(v);
                default: return !Py.truthy(v);
            }
        }
    }

    /** and: the first falsy operand, else the last; or: the first truthy, else the last. */
    private static final class AndOr extends Node {
        private final boolean and;
        private final Node[] values;

        AndOr(boolean and, Node[] values) {
            this.and = and;
            this.values = values;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object value = null;
            for (Node node : values) {
                value = node.eval(row);
                if (Py.truthy(value) != and) {
                    return value;
                }
            }
            return value;
        }
    }

    /** a < b < c: each operand evaluated once, stopping at the first false link. */
    private static final class Compare extends Node {
        private final Node first;
        private final int[] ops;
        private final Node[] rest;

        Compare(Node first, int[] ops, Node[] rest) {
            this.first = first;
            this.ops = ops;
            this.rest = rest;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object left = first.eval(row);
            for (int i = 0; i < ops.length; i++) {
                Object right = rest[i].eval(row);
                if (!Py.compare(ops[i], left, right)) {
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
            return Py.truthy(test.eval(row)) ? body.eval(row) : orelse.eval(row);
        }
    }

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
            return new Tuple(values);
        }
    }

    /** Arguments are all evaluated first, in order (so coalesce does not short-circuit either). */
    private static final class Call extends Node {
        private final int fn;
        private final Node[] args;

        Call(int fn, Node[] args) {
            this.fn = fn;
            this.args = args;
        }

        @Override
        Object eval(Map<String, Object> row) {
            Object[] values = new Object[args.length];
            for (int i = 0; i < args.length; i++) {
                values[i] = args[i].eval(row);
            }
            return Functions.call(fn, values);
        }
    }
}
