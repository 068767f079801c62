"""Row-level expressions: the filters and derived columns of a source, parsed once, never `eval`ed.

The language is specified in docs/expressions.md and pinned case by case by
tests/conformance/expressions.json, which this evaluator and the JVM one
(jvm/flink io.skewless.logic) both pass. In short: Python syntax restricted to literals,
column names, `+ - * / // %`, comparisons, `in`, `is None`, `and or not`, `a if c else b`
and the functions in `FUNCTIONS`, over five value types (long, double, string, boolean,
null) with no implicit conversion besides long -> double in mixed arithmetic.

`parse_expression` and `check_row_logic` refuse at compile time (an `ExpressionError`, a
`SpecError` with a `code`) whatever the grammar lacks and whatever would fail on every
event given the columns' types. A failure on one event raises `RowLogicError`, a
`DecodeError` carrying `code`, `op` and `operand_types`, rendered into the dead-letter
reason as `row_logic.<code>: <detail>`.

`RowLogic.to_json()` (or `row_logic_json(derived, filter)`) serializes the parsed trees for the
JVM evaluator, so this module stays the one parser and type checker. The format, version 2:

    {"version": 2, "derived": [{"name", "what", "source", "tree"}, ...],
     "filter": {"what", "source", "tree"} | null}

and a tree node is one of

    {"node": "const", "type": "long" | "double" | "string" | "boolean" | "null", "value": V}
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
import decimal
import difflib
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skewless.errors import SpecError
from skewless.events.codec import DecodeError
from skewless.spec import ViewSpec

# Static types. NUMBER is "long or double"; None means unknown until run time.
LONG, DOUBLE, STRING, BOOL, NULL, NUMBER = "long", "double", "string", "boolean", "null", "number"
ValueType = str | None
NUMERIC = (LONG, DOUBLE, NUMBER)

FORMAT_VERSION = 2
MAX_SOURCE_CHARS = 2_000
MAX_DEPTH = 40
MAX_NDIGITS = 308
_MIN_LONG, _MAX_LONG = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Exact decimal rounding for round(x, n): enough digits for any double at any allowed n.
_DECIMAL = decimal.Context(prec=1_000, Emin=-2_000, Emax=2_000, rounding=decimal.ROUND_HALF_EVEN)


class RowLogicError(DecodeError):
    """A filter or derived column failed on one event; `reason` goes to the dead-letter topic."""

    def __init__(self, what: str, source: str, code: str, op: str, operand_types: Sequence[str]) -> None:
        self.code, self.op, self.operand_types = code, op, tuple(operand_types)
        super().__init__(f'{what} "{source}": row_logic.{code}: {render_detail(code, op, self.operand_types)}')


class ExpressionError(SpecError):
    """An expression the checker refuses; `code` names the rule (docs/expressions.md)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Failure(Exception):
    """A run-time refusal inside the tree; Expression.evaluate adds which expression failed."""

    def __init__(self, code: str, op: str, operands: Sequence[Any]) -> None:
        super().__init__(code)
        self.code, self.op = code, op
        self.operand_types = tuple(type_name(v) for v in operands)


_INFIX = {"+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "in", "not in"}


def render_detail(code: str, op: str, operand_types: Sequence[str]) -> str:
    """`string + double`, `lower(long)`, `if(null)`; a missing field is just its name."""
    if code == "missing_field":
        return op
    if op in _INFIX and len(operand_types) == 2:
        return f"{operand_types[0]} {op} {operand_types[1]}"
    return f"{op}({', '.join(operand_types)})"


def type_name(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return LONG
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    return "tuple"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _refuse(op: str, *operands: Any) -> _Failure:
    """null_operand when a null is among the operands, else type_mismatch."""
    code = "null_operand" if any(v is None for v in operands) else "type_mismatch"
    return _Failure(code, op, operands)


def _long(value: int, op: str, operands: Sequence[Any]) -> int:
    if not _MIN_LONG <= value <= _MAX_LONG:
        raise _Failure("integer_overflow", op, operands)
    return value


# ---------------------------------------------------------------------------------------------
# Run-time semantics of the operators and functions (docs/expressions.md, "Operators" and "Functions").


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if not (_is_number(a) and _is_number(b)):
        raise _refuse(op, a, b)
    if op in ("/", "//", "%") and b == 0:
        raise _Failure("division_by_zero", op, (a, b))
    if op == "/":
        return float(a) / float(b)
    if isinstance(a, int) and isinstance(b, int):
        return _long(_LONG_ARITH[op](a, b), op, (a, b))  # exact, then range-checked
    x, y = float(a), float(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "//":
        q = x / y
        return float(math.floor(q)) if math.isfinite(q) and q != 0 else q
    return _double_mod(x, y)


_LONG_ARITH: dict[str, Callable[[int, int], int]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
}  # fmt: skip


def _double_mod(x: float, y: float) -> float:
    """fmod, then moved into the divisor's sign, as Java's `x % y` then `+ y`."""
    r = math.nan if math.isinf(x) or math.isnan(y) else math.fmod(x, y)
    if r != 0 and (r < 0) != (y < 0):
        r += y
    return r


def _truth(op: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(op, value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a) == float(b) if isinstance(a, float) or isinstance(b, float) else a == b
    return type_name(a) == type_name(b) and a == b


def _code_point_order(op: str, a: Any, b: Any) -> int:
    """-1, 0 or 1; NaN compares as 2 (every ordering with it is false)."""
    if _is_number(a) and _is_number(b):
        x, y = (float(a), float(b)) if isinstance(a, float) or isinstance(b, float) else (a, b)
        return -1 if x < y else 1 if x > y else 0 if x == y else 2
    if isinstance(a, str) and isinstance(b, str):
        return -1 if a < b else 1 if a > b else 0  # Python orders str by code point
    raise _refuse(op, a, b)


_ORDER = {"<": lambda c: c == -1, "<=": lambda c: c in (-1, 0), ">": lambda c: c == 1, ">=": lambda c: c in (0, 1)}


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op == "is":
        return a is None
    if op == "is not":
        return a is not None
    if op in ("in", "not in"):
        if isinstance(b, tuple):
            found = any(_equal(a, item) for item in b)
        elif isinstance(a, str) and isinstance(b, str):
            found = a in b
        else:
            raise _refuse(op, a, b)
        return found if op == "in" else not found
    return _ORDER[op](_code_point_order(op, a, b))


def _abs(x: Any) -> Any:
    if not _is_number(x):
        raise _refuse("abs", x)
    return _long(abs(x), "abs", (x,)) if isinstance(x, int) else abs(x)


def _finite(x: float, op: str, operands: Sequence[Any]) -> float:
    if not math.isfinite(x):
        raise _Failure("not_finite", op, operands)
    return x


def _round(*operands: Any) -> Any:
    x, ndigits = operands[0], operands[-1]
    if not _is_number(x) or (len(operands) == 2 and (not isinstance(ndigits, int) or isinstance(ndigits, bool))):
        raise _refuse("round", *operands)
    if len(operands) == 1:
        return x if isinstance(x, int) else _long(round(_finite(x, "round", operands)), "round", operands)
    if not -MAX_NDIGITS <= ndigits <= MAX_NDIGITS:
        raise _Failure("invalid_argument", "round", operands)
    if isinstance(x, int):
        if ndigits >= 0:
            return x
        return _long(int(_DECIMAL.quantize(decimal.Decimal(x), decimal.Decimal(f"1E{-ndigits}"))), "round", operands)
    _finite(x, "round", operands)
    rounded = float(_DECIMAL.quantize(decimal.Decimal(x), decimal.Decimal(f"1E{-ndigits}")))
    return math.copysign(0.0, x) if rounded == 0 else rounded


def _int(x: Any) -> int:
    if isinstance(x, str):
        if not _INT_TEXT.fullmatch(x):
            raise _Failure("invalid_number", "int", (x,))
        return _long(int(x), "int", (x,))
    if not _is_number(x):
        raise _refuse("int", x)
    return x if isinstance(x, int) else _long(int(_finite(x, "int", (x,))), "int", (x,))


def _float(x: Any) -> float:
    if isinstance(x, str):
        if not _FLOAT_TEXT.fullmatch(x):
            raise _Failure("invalid_number", "float", (x,))
        return float(x)
    if not _is_number(x):
        raise _refuse("float", x)
    return float(x)


def _str(x: Any) -> str:
    if x is None or isinstance(x, tuple):
        raise _refuse("str", x)
    if isinstance(x, bool):
        return "True" if x else "False"
    return x if isinstance(x, str) else repr(x)  # repr(float): the shortest round-trip digits


def _string_function(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if not all(isinstance(a, str) for a in args):
            raise _refuse(name, *args)
        return method(*args)

    return call


def _extreme(name: str, pick: Callable[[int], bool]) -> Callable[..., Any]:
    """min / max: the first operand that no later one beats; numbers or strings, not both."""

    def call(*args: Any) -> Any:
        kinds = {NUMBER if _is_number(a) else type_name(a) for a in args}
        if kinds not in ({NUMBER}, {STRING}):
            raise _refuse(name, *args)
        best = args[0]
        for item in args[1:]:
            if pick(_code_point_order(name, item, best)):
                best = item
        return best

    return call


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number


FUNCTIONS: dict[str, Function] = {
    "abs": Function(_abs, 1, 1),
    "round": Function(_round, 1, 2),
    "min": Function(_extreme("min", lambda c: c == -1), 2, None),
    "max": Function(_extreme("max", lambda c: c == 1), 2, None),
    "int": Function(_int, 1, 1),
    "float": Function(_float, 1, 1),
    "str": Function(_str, 1, 1),
    "len": Function(_string_function("len", len), 1, 1),
    "lower": Function(_string_function("lower", str.lower), 1, 1),
    "upper": Function(_string_function("upper", str.upper), 1, 1),
    "startswith": Function(_string_function("startswith", str.startswith), 2, 2),
    "endswith": Function(_string_function("endswith", str.endswith), 2, 2),
    "coalesce": Function(lambda *args: args, 1, None),  # evaluated lazily by _Call
}

# ---------------------------------------------------------------------------------------------
# The node tree. Each node is immutable and `evaluate` is pure: same row in, same value out.


class _Node:
    __slots__ = ()

    def evaluate(self, row: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Const(_Node):
    value: Any

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"node": "const", "type": type_name(self.value), "value": self.value}


@dataclass(frozen=True, slots=True)
class _Field(_Node):
    name: str

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        try:
            return row[self.name]
        except KeyError:
            raise _Failure("missing_field", self.name, ()) from None

    def to_json(self) -> dict[str, Any]:
        return {"node": "field", "name": self.name}


@dataclass(frozen=True, slots=True)
class _Binary(_Node):
    op: str
    left: _Node
    right: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return _arith(self.op, self.left.evaluate(row), self.right.evaluate(row))

    def to_json(self) -> dict[str, Any]:
        return {"node": "binary", "op": self.op, "left": self.left.to_json(), "right": self.right.to_json()}


@dataclass(frozen=True, slots=True)
class _Unary(_Node):
    op: str
    operand: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        value = self.operand.evaluate(row)
        if self.op == "not":
            return not _truth("not", value)
        if not _is_number(value):
            raise _refuse(self.op, value)
        if self.op == "+":
            return value
        return _long(-value, "-", (value,)) if isinstance(value, int) else -value

    def to_json(self) -> dict[str, Any]:
        return {"node": "unary", "op": self.op, "operand": self.operand.to_json()}


@dataclass(frozen=True, slots=True)
class _AndOr(_Node):
    op: str  # "and" | "or"
    values: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        stop = self.op == "or"  # `or` stops at the first true operand, `and` at the first false
        for node in self.values:
            if _truth(self.op, node.evaluate(row)) == stop:
                return stop
        return not stop

    def to_json(self) -> dict[str, Any]:
        return {"node": self.op, "values": [v.to_json() for v in self.values]}


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    first: _Node
    ops: tuple[str, ...]
    rest: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        left = self.first.evaluate(row)
        for op, node in zip(self.ops, self.rest):  # chained: a < b < c evaluates b once
            right = node.evaluate(row)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def to_json(self) -> dict[str, Any]:
        rest = [r.to_json() for r in self.rest]
        return {"node": "compare", "first": self.first.to_json(), "ops": list(self.ops), "rest": rest}


@dataclass(frozen=True, slots=True)
class _IfElse(_Node):
    test: _Node
    body: _Node
    orelse: _Node

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return self.body.evaluate(row) if _truth("if", self.test.evaluate(row)) else self.orelse.evaluate(row)

    def to_json(self) -> dict[str, Any]:
        return {"node": "if", "test": self.test.to_json(), "body": self.body.to_json(), "orelse": self.orelse.to_json()}


@dataclass(frozen=True, slots=True)
class _Tuple(_Node):
    items: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        return tuple(item.evaluate(row) for item in self.items)

    def to_json(self) -> dict[str, Any]:
        return {"node": "tuple", "items": [i.to_json() for i in self.items]}


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    function: str
    args: tuple[_Node, ...]

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        if self.function == "coalesce":  # stops at the first non-null argument
            return next((v for v in (a.evaluate(row) for a in self.args) if v is not None), None)
        return FUNCTIONS[self.function].fn(*(a.evaluate(row) for a in self.args))

    def to_json(self) -> dict[str, Any]:
        return {"node": "call", "function": self.function, "args": [a.to_json() for a in self.args]}


# ---------------------------------------------------------------------------------------------
# Parsing: ast -> node tree, with static types (docs/expressions.md, "Checks at compile time").

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
_COMPARE = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip
# The types each argument of a function may have, what it returns ("same": its first
# argument's type; "round": long, or the first argument's type with ndigits), and how an
# error message says what it needs (min, max and coalesce are typed in call_type).
_SIGNATURES: dict[str, tuple[tuple[tuple[str, ...], ...], str, str]] = {
    "abs": ((NUMERIC,), "same", "a number"),
    "round": ((NUMERIC, (LONG,)), "round", "a number, then a long number of digits"),
    "int": (((*NUMERIC, STRING),), LONG, "a number or a string"),
    "float": (((*NUMERIC, STRING),), DOUBLE, "a number or a string"),
    "str": (((*NUMERIC, STRING, BOOL),), STRING, "a number, a string or a boolean"),
    "len": (((STRING,),), LONG, "a string"),
    "lower": (((STRING,),), STRING, "a string"),
    "upper": (((STRING,),), STRING, "a string"),
    "startswith": (((STRING,), (STRING,)), BOOL, "two strings"),
    "endswith": (((STRING,), (STRING,)), BOOL, "two strings"),
}


def _join(types: Sequence[ValueType]) -> ValueType:
    """The static type of a value that is one of `types` (null joins anything)."""
    known = {t for t in types if t != NULL}
    if not known:
        return NULL
    if len(known) == 1:
        return known.pop()
    return NUMBER if known <= set(NUMERIC) else None


def _family(t: ValueType) -> ValueType:
    return NUMBER if t in NUMERIC else t


@dataclass(frozen=True)
class Expression:
    """A parsed expression: `evaluate(row)` is pure and raises only RowLogicError."""

    source: str
    what: str  # how reasons name it, e.g. "filter" or "derived column 'x'"
    root: _Node
    fields: frozenset[str]  # the event fields it reads
    type: ValueType  # static result type, None when only known at run time

    def evaluate(self, row: Mapping[str, Any]) -> Any:
        try:
            return self.root.evaluate(row)
        except _Failure as exc:
            raise RowLogicError(self.what, self.source, exc.code, exc.op, exc.operand_types) from None

    def failure(self, code: str, op: str, operands: Sequence[Any]) -> RowLogicError:
        return RowLogicError(self.what, self.source, code, op, [type_name(v) for v in operands])

    def to_json(self) -> dict[str, Any]:
        """This expression as a JSON-ready dict: {"what", "source", "tree"} (see the module doc)."""
        return {"what": self.what, "source": self.source, "tree": self.root.to_json()}


class _Parser:
    def __init__(self, source: str, what: str, columns: Mapping[str, ValueType] | None) -> None:
        self.source = source.strip()
        self.what = what
        self.columns = columns
        self.fields: set[str] = set()

    def fail(self, code: str, problem: str, node: ast.AST | None = None) -> ExpressionError:
        where = f" (at column {node.col_offset + 1})" if node is not None and hasattr(node, "col_offset") else ""
        return ExpressionError(code, f'{self.what} "{self.source}": {problem}{where}')

    def parse(self) -> Expression:
        if len(self.source) > MAX_SOURCE_CHARS:
            raise self.fail("too_long", f"longer than {MAX_SOURCE_CHARS} characters; split it into derived columns")
        try:
            tree = ast.parse(self.source, mode="eval")
        except SyntaxError as exc:
            problem = f'{self.what} "{self.source}" is not a valid expression: {exc.msg}'
            raise ExpressionError("syntax", problem) from None
        except (RecursionError, MemoryError, ValueError) as exc:
            raise self.fail("too_deep", f"cannot be parsed ({type(exc).__name__}); simplify it") from None
        root, typ = self.node(tree.body, 0)
        return Expression(self.source, self.what, root, frozenset(self.fields), typ)

    def mismatch(self, n: ast.AST, needs: str, op: str, types: Sequence[ValueType]) -> ExpressionError:
        code = "null_operand" if NULL in types else "type_mismatch"
        shown = render_detail(code, op, [t or "unknown" for t in types])
        return self.fail(code, f"{needs}, but this is always {shown}", n)

    def condition(self, n: ast.expr, depth: int, op: str) -> _Node:
        node, t = self.node(n, depth)
        if t not in (BOOL, None):
            raise self.mismatch(n, f"'{op}' needs a boolean (True or False)", op, [t])
        return node

    def node(self, n: ast.expr, depth: int, in_membership: bool = False) -> tuple[_Node, ValueType]:
        if depth > MAX_DEPTH:
            raise self.fail("too_deep", f"nested deeper than {MAX_DEPTH} levels; split it into derived columns")
        d = depth + 1
        if isinstance(n, ast.Constant):
            return self.constant(n, n.value)
        if isinstance(n, ast.Name):
            return self.name(n)
        if isinstance(n, ast.BinOp):
            return self.binary(n, d)
        if isinstance(n, ast.UnaryOp):
            return self.unary(n, d)
        if isinstance(n, ast.BoolOp):
            op = "and" if isinstance(n.op, ast.And) else "or"
            return _AndOr(op, tuple(self.condition(v, d, op) for v in n.values)), BOOL
        if isinstance(n, ast.Compare):
            return self.compare(n, d)
        if isinstance(n, ast.IfExp):
            test = self.condition(n.test, d, "if")
            (body, bt), (orelse, et) = self.node(n.body, d), self.node(n.orelse, d)
            return _IfElse(test, body, orelse), _join([bt, et])
        if isinstance(n, ast.Call):
            return self.call(n, d)
        if isinstance(n, (ast.Tuple, ast.List)) and in_membership:
            return _Tuple(tuple(self.node(e, d)[0] for e in n.elts)), "tuple"
        if isinstance(n, ast.Attribute):
            raise self.fail("attribute_access", self.attribute_hint(n), n)
        if isinstance(n, ast.Subscript):
            raise self.fail("unsupported_syntax", "subscripts like x[0] are not part of the language", n)
        if isinstance(n, (ast.Tuple, ast.List)):
            raise self.fail("unsupported_syntax", "a tuple or list literal is only allowed after 'in' / 'not in'", n)
        raise self.fail("unsupported_syntax", f"{type(n).__name__} is not part of the language", n)

    def attribute_hint(self, n: ast.Attribute) -> str:
        """`x.startswith(...)` -> point at startswith(x, ...); other attributes -> the function list."""
        base = "attribute access is not part of the language"
        if n.attr in FUNCTIONS:
            more = ", ..." if FUNCTIONS[n.attr].min_args > 1 else ""
            return f"{base}; use {n.attr}({ast.unparse(n.value)}{more})"
        return f"{base} ('.{n.attr}'); the functions are {', '.join(sorted(FUNCTIONS))}"

    def constant(self, n: ast.AST, value: Any) -> tuple[_Node, ValueType]:
        if isinstance(value, int) and not isinstance(value, bool) and not _MIN_LONG <= value <= _MAX_LONG:
            raise self.fail("literal_out_of_range", f"integer literal {value} does not fit in 64 bits", n)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail("literal_out_of_range", "float literal is too large for a double", n)
        if value is None or isinstance(value, (bool, int, float, str)):
            return _Const(value), type_name(value)
        allowed = "use numbers, strings, True, False or None"
        raise self.fail("unsupported_syntax", f"literal {value!r} is not allowed; {allowed}", n)

    def name(self, n: ast.Name) -> tuple[_Node, ValueType]:
        if n.id.startswith("__"):
            raise self.fail("reserved_name", f"name {n.id!r} is not allowed: names starting with '__' are reserved", n)
        if self.columns is not None and n.id not in self.columns:
            if n.id in FUNCTIONS:
                raise self.fail("unknown_column", f"{n.id!r} is a function; call it, e.g. {n.id}(x)", n)
            hint = difflib.get_close_matches(n.id, list(self.columns), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            known = ", ".join(sorted(self.columns))
            raise self.fail("unknown_column", f"unknown column {n.id!r}{suggestion}; known columns: {known}", n)
        self.fields.add(n.id)
        return _Field(n.id), (self.columns or {}).get(n.id)

    def binary(self, n: ast.BinOp, d: int) -> tuple[_Node, ValueType]:
        op = _BINARY.get(type(n.op))
        if op is None:
            problem = f"operator {type(n.op).__name__} is not part of the language; use + - * / // %"
            raise self.fail("unsupported_syntax", problem, n)
        (left, lt), (right, rt) = self.node(n.left, d), self.node(n.right, d)
        if op == "+" and STRING in (lt, rt) and {lt, rt} <= {STRING, None}:
            return _Binary(op, left, right), STRING
        if any(t is not None and t not in NUMERIC for t in (lt, rt)):
            needs = "'+' adds two numbers or joins two strings" if op == "+" else f"'{op}' needs numbers"
            raise self.mismatch(n, needs, op, [lt, rt])
        if op == "/":
            return _Binary(op, left, right), DOUBLE
        if lt == rt == LONG:
            return _Binary(op, left, right), LONG
        return _Binary(op, left, right), DOUBLE if DOUBLE in (lt, rt) else NUMBER

    def unary(self, n: ast.UnaryOp, d: int) -> tuple[_Node, ValueType]:
        op = _UNARY.get(type(n.op))
        if op is None:
            raise self.fail("unsupported_syntax", "operator ~ is not part of the language", n)
        if op == "not":
            return _Unary(op, self.condition(n.operand, d, "not")), BOOL
        if op == "-" and isinstance(n.operand, ast.Constant) and type(n.operand.value) in (int, float):
            return self.constant(n, -n.operand.value)  # so -9223372036854775808 is a literal
        operand, t = self.node(n.operand, d)
        if t is not None and t not in NUMERIC:
            raise self.mismatch(n, f"unary '{op}' needs a number", op, [t])
        return _Unary(op, operand), t

    def compare(self, n: ast.Compare, depth: int) -> tuple[_Node, ValueType]:
        first, left_type = self.node(n.left, depth)
        ops: list[str] = []
        rest: list[_Node] = []
        for cmp, right in zip(n.ops, n.comparators):
            op = _COMPARE[type(cmp)]
            if op in ("is", "is not") and not (isinstance(right, ast.Constant) and right.value is None):
                problem = f"'{op}' is only allowed with None; use == or != to compare values"
                raise self.fail("unsupported_syntax", problem, n)
            node, right_type = self.node(right, depth, in_membership=op in ("in", "not in"))
            self.check_comparison(n, op, left_type, right_type)
            ops.append(op)
            rest.append(node)
            left_type = right_type
        return _Compare(first, tuple(ops), tuple(rest)), BOOL

    def check_comparison(self, n: ast.AST, op: str, lt: ValueType, rt: ValueType) -> None:
        if op in ("is", "is not") or None in (lt, rt):
            return
        if op in ("in", "not in"):
            if rt != "tuple" and (rt != STRING or lt not in (STRING,)):
                needs = f"'{op}' needs a string in a string, or a literal tuple on the right"
                raise self.mismatch(n, needs, op, [lt, rt])
        elif op in ("==", "!="):
            if NULL not in (lt, rt) and _family(lt) != _family(rt):
                needs = f"'{op}' compares values of one kind (numbers, strings or booleans)"
                raise self.mismatch(n, needs, op, [lt, rt])
        elif not ({lt, rt} <= set(NUMERIC) or lt == rt == STRING):
            raise self.mismatch(n, f"'{op}' orders two numbers or two strings", op, [lt, rt])

    def call(self, n: ast.Call, depth: int) -> tuple[_Node, ValueType]:
        if isinstance(n.func, ast.Attribute):
            raise self.fail("attribute_access", self.attribute_hint(n.func), n)
        functions = ", ".join(sorted(FUNCTIONS))
        if not isinstance(n.func, ast.Name):
            raise self.fail("unsupported_syntax", f"only named functions can be called: {functions}", n)
        name = n.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.fail("unknown_function", f"unknown function {name!r}; use one of {functions}", n)
        if n.keywords or any(isinstance(a, ast.Starred) for a in n.args):
            raise self.fail("arity", f"{name}() takes positional arguments only", n)
        count = len(n.args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            most = "or more" if spec.max_args is None else f"to {spec.max_args}"
            wanted = f"{spec.min_args}" if spec.max_args == spec.min_args else f"{spec.min_args} {most}"
            raise self.fail("arity", f"{name}() takes {wanted} arguments, got {count}", n)
        parts = [self.node(a, depth) for a in n.args]
        types = [t for _, t in parts]
        return _Call(name, tuple(p for p, _ in parts)), self.call_type(n, name, types)

    def call_type(self, n: ast.AST, name: str, types: list[ValueType]) -> ValueType:
        if name == "coalesce":
            return _join(types)
        if name in ("min", "max"):
            families = {_family(t) for t in types if t is not None}
            if families and families not in ({NUMBER}, {STRING}):
                raise self.mismatch(n, f"{name}() needs all numbers or all strings", name, types)
            return _join(types)
        allowed, result, needs = _SIGNATURES[name]
        if any(t is not None and t not in ok for ok, t in zip(allowed, types)):
            raise self.mismatch(n, f"{name}() needs {needs}", name, types)
        if result == "same":
            return types[0]
        if result == "round":
            return LONG if len(types) == 1 else types[0]
        return result


def parse_expression(
    source: str, *, what: str = "expression", columns: Mapping[str, ValueType] | None = None
) -> Expression:
    """Parse and check `source`; with `columns`, every name must be one of them (ExpressionError otherwise)."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("syntax", f"{what}: expected a non-empty expression string, got {source!r}")
    return _Parser(source, what, columns).parse()


# ---------------------------------------------------------------------------------------------
# Row logic of a view: derived columns in order, then the filter.


def check_row_logic(
    derived: Sequence[tuple[str, str]], filter: str | None, columns: Mapping[str, ValueType]
) -> dict[str, ValueType]:
    """Check derived columns and filter against the source's columns; returns all column types.

    Each derived column may use the source's fields and the derived columns before it; the
    filter may use all of them and must be a boolean. Raises ExpressionError naming what to fix.
    """
    known = dict(columns)
    for name, source in derived:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
            problem = f"derived column name {name!r} must be an identifier not starting with '__'"
            raise ExpressionError("reserved_name", problem)
        if name in known:
            origin = "a source field" if name in columns else "an earlier derived column"
            problem = f"derived column {name!r} would overwrite {origin}; give it another name"
            raise ExpressionError("duplicate_column", problem)
        known[name] = parse_expression(source, what=f"derived column {name!r}", columns=known).type
    if filter is not None:
        typ = parse_expression(filter, what="filter", columns=known).type
        if typ not in (BOOL, None):
            shown = "null" if typ == NULL else f"a {typ}"
            problem = f'filter "{filter.strip()}" must be a boolean, but it is always {shown}'
            raise ExpressionError("type_mismatch", problem)
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
                    raise expr.failure("not_finite", "result", [value])
                row[name] = value
        if self.filter is not None:
            keep = self.filter.evaluate(row)
            if not isinstance(keep, bool):
                raise self.filter.failure("null_operand" if keep is None else "type_mismatch", "filter", [keep])
            if not keep:
                return None
        return row

    def to_json(self) -> str:
        """The derived columns and filter as JSON for the JVM evaluator (format in the module doc)."""
        doc = {
            "version": FORMAT_VERSION,
            "derived": [{"name": name, **expr.to_json()} for name, expr in self.derived],
            "filter": self.filter.to_json() if self.filter is not None else None,
        }
        return json.dumps(doc, separators=(",", ":"))


def row_logic_json(derived: Sequence[tuple[str, str]], filter: str | None) -> str:
    """Parse derived columns and filter as RowLogic does, and serialize them for the JVM."""
    return RowLogic(derived, filter).to_json()


def compile_row_logic(spec: ViewSpec) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """The row logic of `spec`: the same function in the Flink decoder and in the test oracle."""
    return RowLogic(spec.derived, spec.filter)


__all__ = [
    "FUNCTIONS",
    "ExpressionError",
    "Expression",
    "RowLogic",
    "RowLogicError",
    "check_row_logic",
    "compile_row_logic",
    "parse_expression",
    "row_logic_json",
]
