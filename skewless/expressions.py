"""Row-level expressions: the filters and derived columns of a source, parsed once, never `eval`ed.

An expression is Python syntax restricted to a whitelisted grammar:

- field names, and int / float / string / True / False / None literals;
- arithmetic `+ - * / // %` and unary `- + not`;
- comparisons `== != < <= > >=` (chained as in Python), `in` / `not in` (against a
  field, a string or a literal tuple), `is None` / `is not None`;
- `and` / `or`, and `a if cond else b`;
- the functions in `FUNCTIONS`: abs, min, max, round, int, float, str, len, lower, upper, coalesce.

`ast.parse` builds the tree; anything outside the grammar (attribute access, subscripts,
calls to other functions, lambdas, comprehensions, `**`, names starting with `__`) is a
`SpecError` at compile time. Evaluation walks our own immutable node tree, with Python's
semantics, except that arithmetic needs numbers (or two strings for `+`): string
repetition and `%`-formatting are refused, so an event cannot make a derived column
allocate without bound.

A failure on one event (division by zero, a None operand, a missing field) raises
`RowLogicError`, a `DecodeError`: the decode stage already turns those into dead letters
carrying the reason. `compile_row_logic(spec)` is the one function the Flink decoder and
the test oracle both call, so stream and oracle agree by construction.

`RowLogic.to_json()` (or `row_logic_json(derived, filter)`) serializes the parsed trees for the
JVM evaluator (jvm/flink io.skewless.logic), so this module stays the one parser and type
checker. The format, version 1:

    {"version": 1, "derived": [{"name", "what", "source", "tree"}, ...],
     "filter": {"what", "source", "tree"} | null}

and a tree node is one of

    {"node": "const", "type": "int" | "float" | "bool" | "str" | "none", "value": V}
        V: an int as a decimal string (literals may exceed 64 bits), a float as its repr
        ('1e+16', 'inf'), a JSON bool, a JSON string, null
    {"node": "field", "name": N}
    {"node": "binary", "op": "+" | "-" | "*" | "/" | "//" | "%", "left": T, "right": T}
    {"node": "unary", "op": "-" | "+" | "not", "operand": T}
    {"node": "and" | "or", "values": [T, ...]}
    {"node": "compare", "first": T, "ops": ["<", "in", "is not", ...], "rest": [T, ...]}
    {"node": "if", "test": T, "body": T, "orelse": T}
    {"node": "tuple", "items": [T, ...]}
    {"node": "call", "function": one of FUNCTIONS, "args": [T, ...]}
"""

from __future__ import annotations

import ast
import difflib
import json
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skewless.errors import SpecError
from skewless.events.codec import DecodeError
from skewless.spec import ViewSpec

# Static types the checker knows; None means "unknown until run time".
NUMBER, STRING, BOOL, NULL = "number", "string", "bool", "null"
ValueType = str | None

MAX_SOURCE_CHARS = 2_000
MAX_DEPTH = 40
# Derived values must fit where events go next (Avro long, Cassandra bigint, a double).
_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1


class RowLogicError(DecodeError):
    """A filter or derived column failed on one event; `reason` goes to the dead-letter topic."""


class _Failure(Exception):
    """Raised inside the tree for our own run-time refusals; turned into RowLogicError at the top."""


# ---------------------------------------------------------------------------------------------
# The node tree. Each node is immutable and `evaluate` is pure: same row in, same value out.


class _Node:
    __slots__ = ()

    def evaluate(self, row: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Const(_Node):
    value: Any

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _Field(_Node):
    name: str

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        try:
            return row[self.name]
        except KeyError:
            raise _Failure(f"field {self.name!r} is missing from the event") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float))  # bool is an int, as in Python


@dataclass(frozen=True, slots=True)
class _Arith:
    """Numeric arithmetic, plus `+` on two strings (a named class, so the tree pickles)."""

    fn: Callable[[Any, Any], Any]
    symbol: str

    def __call__(self, a: Any, b: Any) -> Any:
        if _is_number(a) and _is_number(b):
            return self.fn(a, b)
        if self.symbol == "+" and isinstance(a, str) and isinstance(b, str):
            return a + b
        raise _Failure(f"'{self.symbol}' needs numbers, got {type(a).__name__} {self.symbol} {type(b).__name__}")


_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", _Arith(operator.add, "+")),
    ast.Sub: ("-", _Arith(operator.sub, "-")),
    ast.Mult: ("*", _Arith(operator.mul, "*")),
    ast.Div: ("/", _Arith(operator.truediv, "/")),
    ast.FloorDiv: ("//", _Arith(operator.floordiv, "//")),
    ast.Mod: ("%", _Arith(operator.mod, "%")),
}


@dataclass(frozen=True, slots=True)
class _Binary(_Node):
    fn: Callable[[Any, Any], Any]
    left: _Node
    right: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.fn(self.left.evaluate(row), self.right.evaluate(row))


@dataclass(frozen=True, slots=True)
class _UnaryNumber:
    fn: Callable[[Any], Any]
    symbol: str

    def __call__(self, a: Any) -> Any:
        if not _is_number(a):
            raise _Failure(f"unary '{self.symbol}' needs a number, got {type(a).__name__}")
        return self.fn(a)


_UNARY: dict[type[ast.unaryop], tuple[str, Callable[[Any], Any]]] = {
    ast.USub: ("-", _UnaryNumber(operator.neg, "-")),
    ast.UAdd: ("+", _UnaryNumber(operator.pos, "+")),
    ast.Not: ("not", operator.not_),
}


@dataclass(frozen=True, slots=True)
class _Unary(_Node):
    fn: Callable[[Any], Any]
    operand: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.fn(self.operand.evaluate(row))


@dataclass(frozen=True, slots=True)
class _And(_Node):
    values: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        value = None
        for node in self.values:  # Python semantics: the first falsy operand, else the last
            value = node.evaluate(row)
            if not value:
                return value
        return value


@dataclass(frozen=True, slots=True)
class _Or(_Node):
    values: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        value = None
        for node in self.values:
            value = node.evaluate(row)
            if value:
                return value
        return value


def _not_in(a: Any, b: Any) -> bool:
    return a not in b


def _in(a: Any, b: Any) -> bool:
    return a in b


_COMPARE: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Eq: ("==", operator.eq),
    ast.NotEq: ("!=", operator.ne),
    ast.Lt: ("<", operator.lt),
    ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt),
    ast.GtE: (">=", operator.ge),
    ast.In: ("in", _in),
    ast.NotIn: ("not in", _not_in),
    ast.Is: ("is", operator.is_),
    ast.IsNot: ("is not", operator.is_not),
}


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    first: _Node
    ops: tuple[Callable[[Any, Any], Any], ...]
    rest: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        left = self.first.evaluate(row)
        result: Any = True
        for fn, node in zip(self.ops, self.rest):  # chained: a < b < c evaluates b once
            right = node.evaluate(row)
            result = fn(left, right)
            if not result:
                return result
            left = right
        return result


@dataclass(frozen=True, slots=True)
class _IfElse(_Node):
    test: _Node
    body: _Node
    orelse: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.body.evaluate(row) if self.test.evaluate(row) else self.orelse.evaluate(row)


@dataclass(frozen=True, slots=True)
class _Tuple(_Node):
    items: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return tuple(item.evaluate(row) for item in self.items)


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    fn: Callable[..., Any]
    args: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.fn(*(a.evaluate(row) for a in self.args))


@dataclass(frozen=True, slots=True)
class _StringFunction:
    name: str
    method: Callable[[str], str]

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _Failure(f"{self.name}() needs a string, got {type(value).__name__}")
        return self.method(value)


def _coalesce(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    result: ValueType  # static result type; None: the common type of the arguments


FUNCTIONS: dict[str, Function] = {
    "abs": Function(abs, 1, 1, NUMBER),
    "round": Function(round, 1, 2, NUMBER),
    "min": Function(min, 2, None, None),
    "max": Function(max, 2, None, None),
    "int": Function(int, 1, 1, NUMBER),
    "float": Function(float, 1, 1, NUMBER),
    "str": Function(str, 1, 1, STRING),
    "len": Function(len, 1, 1, NUMBER),
    "lower": Function(_StringFunction("lower", str.lower), 1, 1, STRING),
    "upper": Function(_StringFunction("upper", str.upper), 1, 1, STRING),
    "coalesce": Function(_coalesce, 1, None, None),
}


# ---------------------------------------------------------------------------------------------
# Serialization of the node tree (format in the module doc). The nodes hold callables, so the
# names come back from the tables that built them.

_COMPARE_SYMBOLS = {fn: symbol for symbol, fn in _COMPARE.values()}
_FUNCTION_NAMES = {spec.fn: name for name, spec in FUNCTIONS.items()}


def _const_json(value: Any) -> dict[str, Any]:
    if value is None:
        return {"node": "const", "type": "none", "value": None}
    if isinstance(value, bool):
        return {"node": "const", "type": "bool", "value": value}
    if isinstance(value, int):
        return {"node": "const", "type": "int", "value": str(value)}
    if isinstance(value, float):
        return {"node": "const", "type": "float", "value": repr(value)}
    return {"node": "const", "type": "str", "value": value}


def _tree_json(node: _Node) -> dict[str, Any]:
    if isinstance(node, _Const):
        return _const_json(node.value)
    if isinstance(node, _Field):
        return {"node": "field", "name": node.name}
    if isinstance(node, _Binary):
        op = node.fn.symbol  # type: ignore[attr-defined]  # always an _Arith
        return {"node": "binary", "op": op, "left": _tree_json(node.left), "right": _tree_json(node.right)}
    if isinstance(node, _Unary):
        op = "not" if node.fn is operator.not_ else node.fn.symbol  # type: ignore[attr-defined]
        return {"node": "unary", "op": op, "operand": _tree_json(node.operand)}
    if isinstance(node, (_And, _Or)):
        return {"node": "and" if isinstance(node, _And) else "or", "values": [_tree_json(v) for v in node.values]}
    if isinstance(node, _Compare):
        return {
            "node": "compare",
            "first": _tree_json(node.first),
            "ops": [_COMPARE_SYMBOLS[fn] for fn in node.ops],
            "rest": [_tree_json(r) for r in node.rest],
        }
    if isinstance(node, _IfElse):
        return {
            "node": "if",
            "test": _tree_json(node.test),
            "body": _tree_json(node.body),
            "orelse": _tree_json(node.orelse),
        }
    if isinstance(node, _Tuple):
        return {"node": "tuple", "items": [_tree_json(i) for i in node.items]}
    if isinstance(node, _Call):
        return {"node": "call", "function": _FUNCTION_NAMES[node.fn], "args": [_tree_json(a) for a in node.args]}
    raise TypeError(f"cannot serialize {type(node).__name__}")  # pragma: no cover - every node is above


# ---------------------------------------------------------------------------------------------
# Parsing: ast -> node tree, with static checks of names and (where known) types.


@dataclass(frozen=True)
class Expression:
    """A parsed expression: `evaluate(row)` is pure and raises only RowLogicError."""

    source: str
    what: str  # how error messages name it, e.g. "filter" or "derived column 'x'"
    root: _Node
    fields: frozenset[str]  # the event fields it reads
    type: ValueType  # static result type, None when only known at run time

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        try:
            return self.root.evaluate(row)
        except _Failure as exc:
            raise RowLogicError(f"{self.what} \"{self.source}\": {exc}") from None
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise RowLogicError(f"{self.what} \"{self.source}\": {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        """This expression as a JSON-ready dict: {"what", "source", "tree"} (see the module doc)."""
        return {"what": self.what, "source": self.source, "tree": _tree_json(self.root)}


class _Parser:
    def __init__(self, source: str, what: str, columns: Mapping[str, ValueType] | None) -> None:
        self.source = source.strip()
        self.what = what
        self.columns = columns
        self.fields: set[str] = set()

    def fail(self, problem: str, node: ast.AST | None = None) -> SpecError:
        where = ""
        if node is not None and hasattr(node, "col_offset"):
            where = f" (at column {node.col_offset + 1})"
        return SpecError(f"{self.what} \"{self.source}\": {problem}{where}")

    def parse(self) -> Expression:
        if len(self.source) > MAX_SOURCE_CHARS:
            raise self.fail(f"longer than {MAX_SOURCE_CHARS} characters; split it into derived columns")
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            raise SpecError(f"{self.what} \"{self.source}\" is not a valid expression: {exc.msg}") from None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise self.fail(f"cannot be parsed ({type(exc).__name__}); simplify it") from None
        root, typ = self.node(tree.body, 0)
        return Expression(self.source, self.what, root, frozenset(self.fields), typ)

    def node(self, n: ast.expr, depth: int, in_membership: bool = False) -> tuple[_Node, ValueType]:
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH} levels; split it into derived columns")
        d = depth + 1
        if isinstance(n, ast.Constant):
            return self.constant(n)
        if isinstance(n, ast.Name):
            return self.name(n)
        if isinstance(n, ast.BinOp):
            entry = _BINARY.get(type(n.op))
            if entry is None:
                raise self.fail(f"operator {type(n.op).__name__} is not allowed; use + - * / // %", n)
            symbol, fn = entry
            left, lt = self.node(n.left, d)
            right, rt = self.node(n.right, d)
            return _Binary(fn, left, right), self.arith_type(symbol, lt, rt, n)
        if isinstance(n, ast.UnaryOp):
            symbol, fn = _UNARY[type(n.op)] if type(n.op) in _UNARY else (None, None)
            if fn is None:
                raise self.fail("operator ~ is not allowed", n)
            operand, ot = self.node(n.operand, d)
            if symbol == "not":
                return _Unary(fn, operand), BOOL
            if ot in (STRING, NULL):
                raise self.fail(f"unary '{symbol}' needs a number, but its operand is always a {ot}", n)
            return _Unary(fn, operand), NUMBER
        if isinstance(n, ast.BoolOp):
            parts = [self.node(v, d) for v in n.values]
            nodes = tuple(p for p, _ in parts)
            return (_And(nodes) if isinstance(n.op, ast.And) else _Or(nodes)), _common([t for _, t in parts])
        if isinstance(n, ast.Compare):
            return self.compare(n, d)
        if isinstance(n, ast.IfExp):
            test, _ = self.node(n.test, d)
            body, bt = self.node(n.body, d)
            orelse, et = self.node(n.orelse, d)
            return _IfElse(test, body, orelse), _common([bt, et])
        if isinstance(n, ast.Call):
            return self.call(n, d)
        if isinstance(n, (ast.Tuple, ast.List)) and in_membership:
            return _Tuple(tuple(self.node(e, d)[0] for e in n.elts)), None
        if isinstance(n, ast.Attribute):
            functions = ", ".join(sorted(FUNCTIONS))
            raise self.fail(f"attribute access '.{n.attr}' is not allowed; use the functions {functions}", n)
        if isinstance(n, ast.Subscript):
            raise self.fail("subscripts like x[0] are not allowed", n)
        if isinstance(n, (ast.Tuple, ast.List)):
            raise self.fail("a tuple or list literal is only allowed after 'in' / 'not in'", n)
        raise self.fail(f"{type(n).__name__} is not allowed in an expression", n)

    def arith_type(self, symbol: str, lt: ValueType, rt: ValueType, n: ast.AST) -> ValueType:
        """Refuse what always fails at run time; `+` also joins two strings."""
        numeric = (NUMBER, BOOL)
        if symbol == "+" and STRING in (lt, rt):
            other = rt if lt == STRING else lt
            if other in (*numeric, NULL):
                raise self.fail(f"'+' joins two strings or adds two numbers, not a string and a {other}", n)
            return STRING
        for side in (lt, rt):
            if side in (STRING, NULL):
                raise self.fail(f"'{symbol}' needs numbers, but an operand is always a {side}", n)
        return NUMBER if lt in numeric and rt in numeric else (None if symbol == "+" else NUMBER)

    def constant(self, n: ast.Constant) -> tuple[_Node, ValueType]:
        value = n.value
        if value is None:
            return _Const(None), NULL
        if isinstance(value, bool):
            return _Const(value), BOOL
        if isinstance(value, (int, float)):
            return _Const(value), NUMBER
        if isinstance(value, str):
            return _Const(value), STRING
        raise self.fail(f"literal {value!r} is not allowed; use numbers, strings, True, False or None", n)

    def name(self, n: ast.Name) -> tuple[_Node, ValueType]:
        if n.id.startswith("__"):
            raise self.fail(f"name {n.id!r} is not allowed: names starting with '__' are reserved", n)
        if self.columns is not None and n.id not in self.columns:
            if n.id in FUNCTIONS:
                raise self.fail(f"{n.id!r} is a function; call it, e.g. {n.id}(x)", n)
            hint = difflib.get_close_matches(n.id, list(self.columns), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.fail(
                f"unknown column {n.id!r}{suggestion}; known columns: {', '.join(sorted(self.columns))}", n
            )
        self.fields.add(n.id)
        return _Field(n.id), (self.columns or {}).get(n.id)

    def compare(self, n: ast.Compare, depth: int) -> tuple[_Node, ValueType]:
        first, left_type = self.node(n.left, depth)
        ops: list[Callable[[Any, Any], Any]] = []
        rest: list[_Node] = []
        for op, right in zip(n.ops, n.comparators):
            symbol, fn = _COMPARE[type(op)]
            if symbol in ("is", "is not") and not (isinstance(right, ast.Constant) and right.value is None):
                raise self.fail(f"'{symbol}' is only allowed with None; use == or != to compare values", n)
            node, right_type = self.node(right, depth, in_membership=symbol in ("in", "not in"))
            if symbol in ("<", "<=", ">", ">=") and {left_type, right_type} in ({STRING, NUMBER}, {STRING, BOOL}):
                raise self.fail(f"'{symbol}' cannot order a {left_type} against a {right_type}", n)
            ops.append(fn)
            rest.append(node)
            left_type = right_type
        return _Compare(first, tuple(ops), tuple(rest)), BOOL

    def call(self, n: ast.Call, depth: int) -> tuple[_Node, ValueType]:
        if not isinstance(n.func, ast.Name):
            raise self.fail(f"only these functions can be called: {', '.join(sorted(FUNCTIONS))}", n)
        name = n.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.fail(f"unknown function {name!r}; use one of {', '.join(sorted(FUNCTIONS))}", n)
        if n.keywords or any(isinstance(a, ast.Starred) for a in n.args):
            raise self.fail(f"{name}() takes positional arguments only", n)
        count = len(n.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            most = "or more" if spec.max_args is None else f"to {spec.max_args}"
            wanted = f"{spec.min_args}" if spec.max_args == spec.min_args else f"{spec.min_args} {most}"
            raise self.fail(f"{name}() takes {wanted} arguments, got {count}", n)
        parts = [self.node(a, depth) for a in n.args]
        types = [t for _, t in parts]
        if name in ("lower", "upper") and types[0] not in (STRING, None):
            raise self.fail(f"{name}() needs a string, but its argument is always a {types[0]}", n)
        if name in ("abs", "round") and types[0] in (STRING, NULL):
            raise self.fail(f"{name}() needs a number, but its argument is always a {types[0]}", n)
        result = spec.result if spec.result is not None else _common(types)
        return _Call(spec.fn, tuple(p for p, _ in parts)), result


def _common(types: Sequence[ValueType]) -> ValueType:
    first = types[0]
    return first if all(t == first for t in types) else None


def parse_expression(
    source: str, *, what: str = "expression", columns: Mapping[str, ValueType] | None = None
) -> Expression:
    """Parse and check `source`; with `columns`, every name must be one of them (SpecError otherwise)."""
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{what}: expected a non-empty expression string, got {source!r}")
    return _Parser(source, what, columns).parse()


# ---------------------------------------------------------------------------------------------
# Row logic of a view: derived columns in order, then the filter.


def check_row_logic(
    derived: Sequence[tuple[str, str]], filter: str | None, columns: Mapping[str, ValueType]
) -> dict[str, ValueType]:
    """Check derived columns and filter against the source's columns; returns all column types.

    Each derived column may use the source's fields and the derived columns before it; the
    filter may use all of them. Raises SpecError naming what to fix.
    """
    known = dict(columns)
    for name, source in derived:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
            raise SpecError(f"derived column name {name!r} must be an identifier not starting with '__'")
        if name in known:
            origin = "a source field" if name in columns else "an earlier derived column"
            raise SpecError(f"derived column {name!r} would overwrite {origin}; give it another name")
        known[name] = parse_expression(source, what=f"derived column {name!r}", columns=known).type
    if filter is not None:
        parse_expression(filter, what="filter", columns=known)
    return known


class RowLogic:
    """derived columns, then the filter, for one view; callable on a decoded event (a dict).

    Returns the event with the derived columns added, or None when the filter drops it.
    Raises RowLogicError when an expression fails on this event.
    """

    def __init__(self, derived: Sequence[tuple[str, str]], filter: str | None) -> None:
        self.derived = tuple((name, parse_expression(src, what=f"derived column {name!r}")) for name, src in derived)
        self.filter = parse_expression(filter, what="filter") if filter is not None else None

    def __call__(self, event: dict[str, Any]) -> dict[str, Any] | None:
        row = event
        if self.derived:
            row = dict(event)  # never mutate the caller's event
            for name, expr in self.derived:
                value = expr.evaluate(row)
                if isinstance(value, float) and not math.isfinite(value):
                    raise RowLogicError(f"{expr.what} \"{expr.source}\" is {value}, not a finite number")
                if isinstance(value, int) and not _MIN_LONG <= value <= _MAX_LONG:
                    raise RowLogicError(f"{expr.what} \"{expr.source}\" is {_int_text(value)}, outside the 64-bit range")
                row[name] = value
        if self.filter is not None and not self.filter.evaluate(row):
            return None
        return row

    def to_json(self) -> str:
        """The derived columns and filter as JSON for the JVM evaluator (format in the module doc)."""
        doc = {
            "version": 1,
            "derived": [{"name": name, **expr.to_json()} for name, expr in self.derived],
            "filter": self.filter.to_json() if self.filter is not None else None,
        }
        return json.dumps(doc, separators=(",", ":"))


def _int_text(value: int) -> str:
    """str(value), or its size when Python refuses to print that many digits (over 4300)."""
    try:
        return str(value)
    except ValueError:
        return f"a {value.bit_length()}-bit integer"


def row_logic_json(derived: Sequence[tuple[str, str]], filter: str | None) -> str:
    """Parse derived columns and filter as RowLogic does, and serialize them for the JVM."""
    return RowLogic(derived, filter).to_json()


def compile_row_logic(spec: ViewSpec) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """The row logic of `spec`: the same function in the Flink decoder and in the test oracle."""
    return RowLogic(spec.derived, spec.filter)


__all__ = [
    "FUNCTIONS",
    "Expression",
    "RowLogic",
    "RowLogicError",
    "check_row_logic",
    "compile_row_logic",
    "parse_expression",
    "row_logic_json",
]
