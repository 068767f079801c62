"""Writes tests/conformance/expressions.json, the conformance table of docs/expressions.md.

The expected values here are written from the spec, never computed by an evaluator: the
table holds skewless.expressions (tests/unit/skewless/expressions/test_conformance.py) and the JVM
evaluator (jvm/flink ConformanceTest) to the same answers. Each case also carries the tree
the Python parser makes of its expression, which is what the JVM evaluates; the unit test
fails when the checked-in file is not what this script writes.

    PYTHONPATH=. python tests/conformance/build_table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("expressions.json")
MAX, MIN = 2**63 - 1, -(2**63)

# ------------------------------------------------------------------------------------------
# Typed values: {"long": 3}, {"double": 2.5}, ...; a null keeps its column's type.


def L(v: int | None) -> dict[str, Any]:  # noqa: N802 - reads like the type it builds
    return {"long": v}


def D(v: float | None) -> dict[str, Any]:  # noqa: N802
    return {"double": v}


def S(v: str | None) -> dict[str, Any]:  # noqa: N802
    return {"string": v}


def B(v: bool | None) -> dict[str, Any]:  # noqa: N802
    return {"boolean": v}


NULL = {"null": None}


def E(code: str, detail: str) -> dict[str, Any]:  # noqa: N802
    return {"error": code, "detail": detail}


# The column types of the compile-time cases (and the names the run-time rows use).
COLUMNS = {"a": "long", "b": "long", "d": "double", "e": "double", "s": "string", "t": "string", "f": "boolean", "g": "boolean"}

# ------------------------------------------------------------------------------------------
# Run-time cases: (expression, row, expected), evaluated as the derived column "x".

SAMPLE = {"long": L(7), "double": D(7.5), "string": S("ab"), "boolean": B(True), "null": L(None)}
RIGHT = {"long": L(2), "double": D(2.0), "string": S("cd"), "boolean": B(False), "null": D(None)}
# The six operators on the numeric pairs, by (left type, right type): 7 op 2, 7 op 2.0, 7.5 op 2, 7.5 op 2.0.
NUMERIC_RESULTS = {
    ("long", "long"): [L(9), L(5), L(14), D(3.5), L(3), L(1)],
    ("long", "double"): [D(9.0), D(5.0), D(14.0), D(3.5), D(3.0), D(1.0)],
    ("double", "long"): [D(9.5), D(5.5), D(15.0), D(3.75), D(3.0), D(1.5)],
    ("double", "double"): [D(9.5), D(5.5), D(15.0), D(3.75), D(3.0), D(1.5)],
}
OPS = ["+", "-", "*", "/", "//", "%"]


def operand_matrix() -> list[tuple[str, dict, Any]]:
    """Every arithmetic operator on every pair of value types."""
    cases = []
    for op_index, op in enumerate(OPS):
        for lt, lv in SAMPLE.items():
            for rt, rv in RIGHT.items():
                row = {"p": lv, "q": rv}
                if (lt, rt) in NUMERIC_RESULTS:
                    expected = NUMERIC_RESULTS[(lt, rt)][op_index]
                elif op == "+" and lt == rt == "string":
                    expected = S("abcd")
                else:
                    code = "null_operand" if "null" in (lt, rt) else "type_mismatch"
                    expected = E(code, f"{lt} {op} {rt}")
                cases.append((f"p {op} q", row, expected))
    return cases


ARITHMETIC_EDGES = [
    # floor division and modulo take the divisor's sign
    ("p // q", {"p": L(7), "q": L(2)}, L(3)),
    ("p // q", {"p": L(-7), "q": L(2)}, L(-4)),
    ("p // q", {"p": L(7), "q": L(-2)}, L(-4)),
    ("p // q", {"p": L(-7), "q": L(-2)}, L(3)),
    ("p % q", {"p": L(7), "q": L(2)}, L(1)),
    ("p % q", {"p": L(-7), "q": L(2)}, L(1)),
    ("p % q", {"p": L(7), "q": L(-2)}, L(-1)),
    ("p % q", {"p": L(-7), "q": L(-2)}, L(-1)),
    ("p // q", {"p": D(7.5), "q": D(2.0)}, D(3.0)),
    ("p // q", {"p": D(-7.5), "q": D(2.0)}, D(-4.0)),
    ("p // q", {"p": D(7.5), "q": D(-2.0)}, D(-4.0)),
    ("p // q", {"p": D(-7.5), "q": D(-2.0)}, D(3.0)),
    ("p % q", {"p": D(7.5), "q": D(2.0)}, D(1.5)),
    ("p % q", {"p": D(-7.5), "q": D(2.0)}, D(0.5)),
    ("p % q", {"p": D(7.5), "q": D(-2.0)}, D(-0.5)),
    ("p % q", {"p": D(-7.5), "q": D(-2.0)}, D(-1.5)),
    ("p % q", {"p": D(6.0), "q": D(-2.0)}, D(0.0)),
    ("p % q", {"p": D(-6.0), "q": D(2.0)}, D(-0.0)),
    ("p // q", {"p": D(-0.0), "q": D(5.0)}, D(-0.0)),
    ("p // q", {"p": D(1.0), "q": D(0.1)}, D(10.0)),
    ("p // q", {"p": L(MIN), "q": L(1)}, L(MIN)),
    ("p % q", {"p": L(MIN), "q": L(-1)}, L(0)),
    # / is always a double; long operands are converted first
    ("p / q", {"p": L(1), "q": L(3)}, D(1 / 3)),
    ("p / q", {"p": L(-9), "q": L(2)}, D(-4.5)),
    ("p / q", {"p": L(9007199254740993), "q": L(1)}, D(9007199254740992.0)),
    ("p / q", {"p": D(1e308), "q": D(0.5)}, E("not_finite", "result(double)")),
    # division by zero, whatever the types and signs
    ("p / q", {"p": L(1), "q": L(0)}, E("division_by_zero", "long / long")),
    ("p // q", {"p": L(1), "q": L(0)}, E("division_by_zero", "long // long")),
    ("p % q", {"p": L(1), "q": L(0)}, E("division_by_zero", "long % long")),
    ("p / q", {"p": D(1.0), "q": D(0.0)}, E("division_by_zero", "double / double")),
    ("p / q", {"p": D(1.0), "q": D(-0.0)}, E("division_by_zero", "double / double")),
    ("p // q", {"p": L(1), "q": D(0.0)}, E("division_by_zero", "long // double")),
    ("p % q", {"p": D(0.0), "q": L(0)}, E("division_by_zero", "double % long")),
    ("1 / (p - p)", {"p": L(5)}, E("division_by_zero", "long / long")),
    # 64-bit overflow is an error, never a wrap-around
    ("p + 1", {"p": L(MAX)}, E("integer_overflow", "long + long")),
    ("p - 1", {"p": L(MIN)}, E("integer_overflow", "long - long")),
    ("p * 2", {"p": L(2**62)}, E("integer_overflow", "long * long")),
    ("p * -1", {"p": L(MIN)}, E("integer_overflow", "long * long")),
    ("p // -1", {"p": L(MIN)}, E("integer_overflow", "long // long")),
    ("-p", {"p": L(MIN)}, E("integer_overflow", "-(long)")),
    ("p + 1", {"p": L(MAX - 1)}, L(MAX)),
    ("p * 2.0", {"p": L(2**62)}, D(9.223372036854776e18)),
    ("p - 1 + 1", {"p": L(MIN)}, E("integer_overflow", "long - long")),
    ("p + 1.0", {"p": L(MAX)}, D(9.223372036854776e18)),
    ("-9223372036854775808 + p", {"p": L(0)}, L(MIN)),
    # doubles: IEEE 754 binary64, round to nearest
    ("p + q", {"p": D(0.1), "q": D(0.2)}, D(0.30000000000000004)),
    ("p * q", {"p": D(1e308), "q": D(10.0)}, E("not_finite", "result(double)")),
    ("p * 10 > p", {"p": D(1e308)}, B(True)),
    ("p - q", {"p": D(1.0), "q": D(1.0)}, D(0.0)),
    ("p * q", {"p": D(-1.0), "q": D(0.0)}, D(-0.0)),
    ("p + q", {"p": D(-0.0), "q": D(0.0)}, D(0.0)),
    ("p + q", {"p": L(9007199254740993), "q": D(0.0)}, D(9007199254740992.0)),
    # unary operators
    ("-p", {"p": L(5)}, L(-5)),
    ("-p", {"p": D(0.0)}, D(-0.0)),
    ("-p", {"p": S("a")}, E("type_mismatch", "-(string)")),
    ("-p", {"p": B(True)}, E("type_mismatch", "-(boolean)")),
    ("-p", {"p": L(None)}, E("null_operand", "-(null)")),
    ("+p", {"p": D(-2.5)}, D(-2.5)),
    ("+p", {"p": S("a")}, E("type_mismatch", "+(string)")),
    ("-(-p)", {"p": L(3)}, L(3)),
    # strings join with +, nothing else
    ("s + t", {"s": S("é"), "t": S("😀")}, S("é😀")),
    ("s + ''", {"s": S("")}, S("")),
    ("s + t", {"s": S("a"), "t": S(None)}, E("null_operand", "string + null")),
]

COMPARISONS = [
    ("p == q", {"p": L(2), "q": D(2.0)}, B(True)),
    ("p == q", {"p": L(9007199254740993), "q": D(9007199254740992.0)}, B(True)),
    ("p == q", {"p": L(9007199254740993), "q": L(9007199254740992)}, B(False)),
    ("p != q", {"p": L(1), "q": L(2)}, B(True)),
    ("p == q", {"p": S("1"), "q": L(1)}, B(False)),
    ("p != q", {"p": S("1"), "q": L(1)}, B(True)),
    ("p == q", {"p": B(True), "q": L(1)}, B(False)),
    ("p == q", {"p": B(False), "q": B(False)}, B(True)),
    ("p == q", {"p": L(None), "q": S(None)}, B(True)),
    ("p == q", {"p": L(None), "q": L(0)}, B(False)),
    ("p != None", {"p": L(0)}, B(True)),
    ("p == q", {"p": D(0.0), "q": D(-0.0)}, B(True)),
    ("p == q", {"p": S("é"), "q": S("e\u0301")}, B(False)),
    ("p < q", {"p": L(1), "q": L(2)}, B(True)),
    ("p < q", {"p": L(2), "q": D(1.5)}, B(False)),
    ("p <= q", {"p": D(2.0), "q": L(2)}, B(True)),
    ("p > q", {"p": L(MAX), "q": L(MIN)}, B(True)),
    ("p >= q", {"p": D(-0.0), "q": D(0.0)}, B(True)),
    ("p < q", {"p": L(9007199254740993), "q": D(9007199254740992.0)}, B(False)),
    ("p < q", {"p": S("B"), "q": S("a")}, B(True)),
    ("p < q", {"p": S("ab"), "q": S("abc")}, B(True)),
    ("p > q", {"p": S("é"), "q": S("z")}, B(True)),
    ("p < q", {"p": S("\uffff"), "q": S("😀")}, B(True)),
    ("p <= q", {"p": S(""), "q": S("")}, B(True)),
    ("p < q", {"p": S("a"), "q": L(1)}, E("type_mismatch", "string < long")),
    ("p >= q", {"p": B(True), "q": B(False)}, E("type_mismatch", "boolean >= boolean")),
    ("p > q", {"p": L(None), "q": L(1)}, E("null_operand", "null > long")),
    ("p <= q", {"p": D(1.0), "q": D(None)}, E("null_operand", "double <= null")),
    # NaN (only ever inside an expression: inputs and results are finite)
    ("p * 10 - p * 10 == p * 10 - p * 10", {"p": D(1e308)}, B(False)),
    ("p * 10 - p * 10 != 0", {"p": D(1e308)}, B(True)),
    ("p * 10 - p * 10 < 1", {"p": D(1e308)}, B(False)),
    ("p * 10 - p * 10 >= 1", {"p": D(1e308)}, B(False)),
    # chains evaluate each operand once and stop at the first false link
    ("1 < p < 3", {"p": L(2)}, B(True)),
    ("1 < p < 3", {"p": L(3)}, B(False)),
    ("1 < p <= q", {"p": L(2), "q": D(2.0)}, B(True)),
    ("p > 5 > q", {"p": L(1), "q": S("x")}, B(False)),
    ("p < 5 > q", {"p": L(1), "q": S("x")}, E("type_mismatch", "long > string")),
    ("p == q == r", {"p": L(1), "q": D(1.0), "r": L(1)}, B(True)),
    # in / not in: substring of a string, or equality with a tuple's items
    ("p in q", {"p": S("b"), "q": S("abc")}, B(True)),
    ("p in q", {"p": S(""), "q": S("abc")}, B(True)),
    ("p in q", {"p": S("B"), "q": S("abc")}, B(False)),
    ("p not in q", {"p": S("d"), "q": S("abc")}, B(True)),
    ("p in ('EUR', 'USD')", {"p": S("USD")}, B(True)),
    ("p in ('EUR', 'USD')", {"p": S("GBP")}, B(False)),
    ("p not in ('EUR', 'USD')", {"p": S("GBP")}, B(True)),
    ("p in (1, 2.5)", {"p": D(1.0)}, B(True)),
    ("p in (1, 2)", {"p": S("1")}, B(False)),
    ("p in (1, None)", {"p": L(None)}, B(True)),
    ("p in [q, 3]", {"p": L(3), "q": L(None)}, B(True)),
    ("p in q", {"p": L(1), "q": S("1")}, E("type_mismatch", "long in string")),
    ("p in q", {"p": S(None), "q": S("abc")}, E("null_operand", "null in string")),
    ("p not in q", {"p": S("a"), "q": S(None)}, E("null_operand", "string not in null")),
    ("p in q", {"p": S("a"), "q": L(1)}, E("type_mismatch", "string in long")),
    # is None / is not None
    ("p is None", {"p": L(None)}, B(True)),
    ("p is None", {"p": L(0)}, B(False)),
    ("p is not None", {"p": S("")}, B(True)),
    ("p is not None", {"p": B(None)}, B(False)),
]

CONDITIONS = [
    ("f and g", {"f": B(True), "g": B(False)}, B(False)),
    ("f and g", {"f": B(True), "g": B(True)}, B(True)),
    ("f or g", {"f": B(False), "g": B(True)}, B(True)),
    ("f or g", {"f": B(False), "g": B(False)}, B(False)),
    ("f and g and h", {"f": B(True), "g": B(True), "h": B(False)}, B(False)),
    ("not f", {"f": B(False)}, B(True)),
    ("not not f", {"f": B(True)}, B(True)),
    ("f and p / q > 1", {"f": B(False), "p": L(1), "q": L(0)}, B(False)),
    ("f or p / q > 1", {"f": B(True), "p": L(1), "q": L(0)}, B(True)),
    ("f and p / q > 1", {"f": B(True), "p": L(1), "q": L(0)}, E("division_by_zero", "long / long")),
    ("f and g", {"f": L(1), "g": B(True)}, E("type_mismatch", "and(long)")),
    ("f and g", {"f": B(True), "g": S("x")}, E("type_mismatch", "and(string)")),
    ("f or g", {"f": B(None), "g": B(True)}, E("null_operand", "or(null)")),
    ("f and g", {"f": B(False), "g": L(1)}, B(False)),
    ("not f", {"f": L(0)}, E("type_mismatch", "not(long)")),
    ("not f", {"f": B(None)}, E("null_operand", "not(null)")),
    ("p if f else q", {"f": B(True), "p": L(1), "q": S("x")}, L(1)),
    ("p if f else q", {"f": B(False), "p": L(1), "q": S("x")}, S("x")),
    ("p if f else 2.5", {"f": B(True), "p": L(1)}, L(1)),
    ("p if f else None", {"f": B(False), "p": L(1)}, NULL),
    ("1 / p if f else 0", {"f": B(False), "p": L(0)}, L(0)),
    ("p if f else q", {"f": L(1), "p": L(1), "q": L(2)}, E("type_mismatch", "if(long)")),
    ("p if f else q", {"f": B(None), "p": L(1), "q": L(2)}, E("null_operand", "if(null)")),
    ("'a' if p > 1 else 'b' if p > 0 else 'c'", {"p": L(1)}, S("b")),
]

FUNCTION_CASES = [
    # abs
    ("abs(p)", {"p": L(-3)}, L(3)),
    ("abs(p)", {"p": D(-2.5)}, D(2.5)),
    ("abs(p)", {"p": D(-0.0)}, D(0.0)),
    ("abs(p)", {"p": L(MIN)}, E("integer_overflow", "abs(long)")),
    ("abs(p)", {"p": L(MAX)}, L(MAX)),
    ("abs(p)", {"p": S("-1")}, E("type_mismatch", "abs(string)")),
    ("abs(p)", {"p": L(None)}, E("null_operand", "abs(null)")),
    # round(x): half to even, a long
    ("round(p)", {"p": D(2.5)}, L(2)),
    ("round(p)", {"p": D(3.5)}, L(4)),
    ("round(p)", {"p": D(-2.5)}, L(-2)),
    ("round(p)", {"p": D(-0.4)}, L(0)),
    ("round(p)", {"p": D(2.51)}, L(3)),
    ("round(p)", {"p": L(7)}, L(7)),
    ("round(p)", {"p": D(1e300)}, E("integer_overflow", "round(double)")),
    ("round(p * 10)", {"p": D(1e308)}, E("not_finite", "round(double)")),
    ("round(p)", {"p": S("1")}, E("type_mismatch", "round(string)")),
    ("round(p)", {"p": D(None)}, E("null_operand", "round(null)")),
    # round(x, n): the exact decimal value of x to n digits, half to even
    ("round(p, 2)", {"p": D(2.675)}, D(2.67)),
    ("round(p, 2)", {"p": D(0.125)}, D(0.12)),
    ("round(p, 2)", {"p": D(0.375)}, D(0.38)),
    ("round(p, 1)", {"p": D(0.25)}, D(0.2)),
    ("round(p, 0)", {"p": D(2.5)}, D(2.0)),
    ("round(p, 0)", {"p": D(-0.4)}, D(-0.0)),
    ("round(p, -2)", {"p": D(1250.0)}, D(1200.0)),
    ("round(p, 3)", {"p": D(1e-10)}, D(0.0)),
    ("round(p, 308)", {"p": D(1.5)}, D(1.5)),
    ("round(p * 0.92, 2)", {"p": D(19.99)}, D(18.39)),
    ("round(p, -2)", {"p": L(1250)}, L(1200)),
    ("round(p, -2)", {"p": L(1350)}, L(1400)),
    ("round(p, -1)", {"p": L(-15)}, L(-20)),
    ("round(p, 2)", {"p": L(1234)}, L(1234)),
    ("round(p, -1)", {"p": L(MAX)}, E("integer_overflow", "round(long, long)")),
    ("round(p, -19)", {"p": L(MAX)}, E("integer_overflow", "round(long, long)")),
    ("round(p, -20)", {"p": L(MAX)}, L(0)),
    ("round(p, q)", {"p": D(1.5), "q": L(309)}, E("invalid_argument", "round(double, long)")),
    ("round(p, q)", {"p": L(15), "q": L(-309)}, E("invalid_argument", "round(long, long)")),
    ("round(p, q)", {"p": D(1.5), "q": D(1.0)}, E("type_mismatch", "round(double, double)")),
    ("round(p, q)", {"p": D(1.5), "q": L(None)}, E("null_operand", "round(double, null)")),
    ("round(p * 10, 2)", {"p": D(1e308)}, E("not_finite", "round(double, long)")),
    ("round(p, -308)", {"p": D(1.7976931348623157e308)}, E("not_finite", "result(double)")),
    # min / max: the first operand no later one beats
    ("min(p, q)", {"p": L(2), "q": D(1.5)}, D(1.5)),
    ("min(p, q)", {"p": L(1), "q": D(1.0)}, L(1)),
    ("max(p, q)", {"p": D(1.0), "q": L(1)}, D(1.0)),
    ("max(p, q, r)", {"p": L(1), "q": L(3), "r": L(2)}, L(3)),
    ("min(p, q)", {"p": S("b"), "q": S("a")}, S("a")),
    ("max(p, q)", {"p": S("\uffff"), "q": S("😀")}, S("😀")),
    ("min(p, q)", {"p": L(1), "q": S("a")}, E("type_mismatch", "min(long, string)")),
    ("max(p, q)", {"p": L(1), "q": L(None)}, E("null_operand", "max(long, null)")),
    ("min(p, q)", {"p": B(True), "q": B(False)}, E("type_mismatch", "min(boolean, boolean)")),
    # int
    ("int(p)", {"p": D(3.9)}, L(3)),
    ("int(p)", {"p": D(-3.9)}, L(-3)),
    ("int(p)", {"p": L(5)}, L(5)),
    ("int(p)", {"p": S("42")}, L(42)),
    ("int(p)", {"p": S("+7")}, L(7)),
    ("int(p)", {"p": S("-007")}, L(-7)),
    ("int(p)", {"p": S("-9223372036854775808")}, L(MIN)),
    ("int(p)", {"p": S("9223372036854775808")}, E("integer_overflow", "int(string)")),
    ("int(p)", {"p": S(" 1")}, E("invalid_number", "int(string)")),
    ("int(p)", {"p": S("1.5")}, E("invalid_number", "int(string)")),
    ("int(p)", {"p": S("1_000")}, E("invalid_number", "int(string)")),
    ("int(p)", {"p": S("")}, E("invalid_number", "int(string)")),
    ("int(p)", {"p": S("٣")}, E("invalid_number", "int(string)")),
    ("int(p)", {"p": D(9.3e18)}, E("integer_overflow", "int(double)")),
    ("int(p)", {"p": D(-9.223372036854775808e18)}, L(MIN)),
    ("int(p * 10)", {"p": D(1e308)}, E("not_finite", "int(double)")),
    ("int(p)", {"p": B(True)}, E("type_mismatch", "int(boolean)")),
    ("int(p)", {"p": S(None)}, E("null_operand", "int(null)")),
    # float
    ("float(p)", {"p": L(3)}, D(3.0)),
    ("float(p)", {"p": L(9007199254740993)}, D(9007199254740992.0)),
    ("float(p)", {"p": D(2.5)}, D(2.5)),
    ("float(p)", {"p": S("2.5")}, D(2.5)),
    ("float(p)", {"p": S("-.5")}, D(-0.5)),
    ("float(p)", {"p": S("5.")}, D(5.0)),
    ("float(p)", {"p": S("1E3")}, D(1000.0)),
    ("float(p)", {"p": S("0.1")}, D(0.1)),
    ("float(p)", {"p": S("1e400")}, E("not_finite", "result(double)")),
    ("float(p)", {"p": S("nan")}, E("invalid_number", "float(string)")),
    ("float(p)", {"p": S("inf")}, E("invalid_number", "float(string)")),
    ("float(p)", {"p": S(" 1")}, E("invalid_number", "float(string)")),
    ("float(p)", {"p": S("0x10")}, E("invalid_number", "float(string)")),
    ("float(p)", {"p": S("1d")}, E("invalid_number", "float(string)")),
    ("float(p)", {"p": B(False)}, E("type_mismatch", "float(boolean)")),
    ("float(p)", {"p": L(None)}, E("null_operand", "float(null)")),
    # str: doubles as their shortest round-trip digits
    ("str(p)", {"p": L(42)}, S("42")),
    ("str(p)", {"p": L(MIN)}, S("-9223372036854775808")),
    ("str(p)", {"p": D(1.5)}, S("1.5")),
    ("str(p)", {"p": D(2.0)}, S("2.0")),
    ("str(p)", {"p": D(-0.0)}, S("-0.0")),
    ("str(p)", {"p": D(0.1)}, S("0.1")),
    ("str(p + q)", {"p": D(0.1), "q": D(0.2)}, S("0.30000000000000004")),
    ("str(p)", {"p": D(1e15)}, S("1000000000000000.0")),
    ("str(p)", {"p": D(1e16)}, S("1e+16")),
    ("str(p)", {"p": D(123456789012345678.0)}, S("1.2345678901234568e+17")),
    ("str(p)", {"p": D(0.0001)}, S("0.0001")),
    ("str(p)", {"p": D(0.00001)}, S("1e-05")),
    ("str(p)", {"p": D(5e-324)}, S("5e-324")),
    ("str(p)", {"p": D(1.7976931348623157e308)}, S("1.7976931348623157e+308")),
    ("str(p)", {"p": D(2e-3)}, S("0.002")),
    ("str(p * 10)", {"p": D(1e308)}, S("inf")),
    ("str(p)", {"p": B(True)}, S("True")),
    ("str(p)", {"p": S("x")}, S("x")),
    ("str(p)", {"p": S(None)}, E("null_operand", "str(null)")),
    # string functions work on Unicode code points
    ("len(p)", {"p": S("héllo")}, L(5)),
    ("len(p)", {"p": S("😀")}, L(1)),
    ("len(p)", {"p": S("")}, L(0)),
    ("len(p)", {"p": L(3)}, E("type_mismatch", "len(long)")),
    ("len(p)", {"p": S(None)}, E("null_operand", "len(null)")),
    ("lower(p)", {"p": S("ÉCOLE Abc")}, S("école abc")),
    ("lower(p)", {"p": S("İ")}, S("i\u0307")),
    ("lower(p)", {"p": S("ΟΔΟΣ")}, S("οδος")),
    ("upper(p)", {"p": S("straße")}, S("STRASSE")),
    ("upper(p)", {"p": S("ﬁx😀")}, S("FIX😀")),
    ("upper(p)", {"p": S("ǆ")}, S("Ǆ")),
    ("lower(p)", {"p": L(1)}, E("type_mismatch", "lower(long)")),
    ("upper(p)", {"p": S(None)}, E("null_operand", "upper(null)")),
    ("startswith(p, q)", {"p": S("merchant_1"), "q": S("merchant")}, B(True)),
    ("startswith(p, q)", {"p": S("merchant_1"), "q": S("1")}, B(False)),
    ("startswith(p, q)", {"p": S("x"), "q": S("")}, B(True)),
    ("endswith(p, q)", {"p": S("a😀"), "q": S("😀")}, B(True)),
    ("endswith(p, q)", {"p": S("ab"), "q": S("abc")}, B(False)),
    ("startswith(p, q)", {"p": S("1"), "q": L(1)}, E("type_mismatch", "startswith(string, long)")),
    ("endswith(p, q)", {"p": S(None), "q": S("a")}, E("null_operand", "endswith(null, string)")),
    # coalesce: the first non-null argument; the rest are not evaluated
    ("coalesce(p, 1)", {"p": L(None)}, L(1)),
    ("coalesce(p, 1)", {"p": L(5)}, L(5)),
    ("coalesce(p, q)", {"p": L(None), "q": S(None)}, NULL),
    ("coalesce(p, 'n/a')", {"p": D(None)}, S("n/a")),
    ("coalesce(p, 1 / q)", {"p": L(3), "q": L(0)}, L(3)),
    ("coalesce(p, 1 / q)", {"p": L(None), "q": L(0)}, E("division_by_zero", "long / long")),
    ("coalesce(p)", {"p": B(False)}, B(False)),
]

ROWS = [
    ("zz + 1", {"p": L(1)}, E("missing_field", "zz")),
    ("p", {"p": S("é😀")}, S("é😀")),
    ("p", {"p": L(None)}, NULL),
    ("None", {}, NULL),
    ("-9223372036854775808", {}, L(MIN)),
    ("1e308", {}, D(1e308)),
    ("True", {}, B(True)),
    ("'it''s'", {}, S("its")),
]

# Filters: (filter, row, "kept" | "dropped" | error)
FILTERS = [
    ("p > 0", {"p": D(1.5)}, "kept"),
    ("p > 0", {"p": D(-1.5)}, "dropped"),
    ("f", {"f": B(True)}, "kept"),
    ("f", {"f": B(False)}, "dropped"),
    ("p > 0", {"p": D(None)}, E("null_operand", "null > long")),
    ("f", {"f": B(None)}, E("null_operand", "filter(null)")),
    ("p", {"p": L(1)}, E("type_mismatch", "filter(long)")),
    ("coalesce(p, 's')", {"p": L(None)}, E("type_mismatch", "filter(string)")),
    ("s in ('EUR', 'USD') and p >= 10", {"s": S("EUR"), "p": L(10)}, "kept"),
]

# ------------------------------------------------------------------------------------------
# Compile time, with COLUMNS: what the checker refuses (expression, code), and the static type
# it gives what it accepts ("unknown" when only the event can tell).

REFUSALS = [
    ("a >", "syntax"),
    ("", "syntax"),
    ("s.startswith('x')", "attribute_access"),
    ("lower(s).endswith('x')", "attribute_access"),
    ("a.real", "attribute_access"),
    ("s[0]", "unsupported_syntax"),
    ("lambda: 1", "unsupported_syntax"),
    ("[x for x in s]", "unsupported_syntax"),
    ("f'{a}'", "unsupported_syntax"),
    ("(y := 1)", "unsupported_syntax"),
    ("a ** 2", "unsupported_syntax"),
    ("a << 2", "unsupported_syntax"),
    ("a & b", "unsupported_syntax"),
    ("~a", "unsupported_syntax"),
    ("a is 1", "unsupported_syntax"),
    ("(a, b)", "unsupported_syntax"),
    ("b'x' == s", "unsupported_syntax"),
    ("1j + a", "unsupported_syntax"),
    ("open('x')", "unknown_function"),
    ("__import__('os')", "unknown_function"),
    ("(lambda: 1)()", "unsupported_syntax"),
    ("sum(a, b)", "unknown_function"),
    ("round(d, ndigits=2)", "arity"),
    ("max(a)", "arity"),
    ("abs()", "arity"),
    ("startswith(s)", "arity"),
    ("lower(*s)", "arity"),
    ("amount > 0", "unknown_column"),
    ("abs > 0", "unknown_column"),
    ("__class__", "reserved_name"),
    ("9223372036854775808", "literal_out_of_range"),
    ("-9223372036854775809", "literal_out_of_range"),
    ("1e999", "literal_out_of_range"),
    ("s * 2", "type_mismatch"),
    ("s + 1", "type_mismatch"),
    ("a + s", "type_mismatch"),
    ("f + 1", "type_mismatch"),
    ("d / f", "type_mismatch"),
    ("None + 1", "null_operand"),
    ("-s", "type_mismatch"),
    ("+f", "type_mismatch"),
    ("not a", "type_mismatch"),
    ("a and f", "type_mismatch"),
    ("f or s", "type_mismatch"),
    ("1 if a else 2", "type_mismatch"),
    ("1 if None else 2", "null_operand"),
    ("s > 1", "type_mismatch"),
    ("0 < a < s", "type_mismatch"),
    ("f < g", "type_mismatch"),
    ("a == s", "type_mismatch"),
    ("f != 1", "type_mismatch"),
    ("None < a", "null_operand"),
    ("a in s", "type_mismatch"),
    ("s in a", "type_mismatch"),
    ("None in s", "null_operand"),
    ("lower(a)", "type_mismatch"),
    ("len(d)", "type_mismatch"),
    ("abs(s)", "type_mismatch"),
    ("round(s)", "type_mismatch"),
    ("round(d, 1.5)", "type_mismatch"),
    ("round(d, s)", "type_mismatch"),
    ("int(f)", "type_mismatch"),
    ("float(None)", "null_operand"),
    ("str(None)", "null_operand"),
    ("min(a, s)", "type_mismatch"),
    ("max(f, g)", "type_mismatch"),
    ("startswith(s, a)", "type_mismatch"),
    ("1+" * 1000 + "1", "too_long"),
    ("-" * 60 + "a", "too_deep"),
]

TYPES = [
    ("a + b", "long"),
    ("a + d", "double"),
    ("d * e", "double"),
    ("a / b", "double"),
    ("a // b", "long"),
    ("d // a", "double"),
    ("-a", "long"),
    ("s + t", "string"),
    ("a > d", "boolean"),
    ("s in ('x', 1)", "boolean"),
    ("not f", "boolean"),
    ("f and g or a > 1", "boolean"),
    ("a if f else b", "long"),
    ("a if f else d", "number"),
    ("a if f else None", "long"),
    ("a if f else s", "unknown"),
    ("(a if f else d) + 1", "number"),
    ("(a if f else s) + 1", "number"),
    ("(a if f else s) + 'x'", "string"),
    ("coalesce(None, d)", "double"),
    ("coalesce(a, s)", "unknown"),
    ("None", "null"),
    ("abs(d)", "double"),
    ("round(d)", "long"),
    ("round(d, 2)", "double"),
    ("round(a, -1)", "long"),
    ("min(a, d)", "number"),
    ("max(s, t)", "string"),
    ("int(s)", "long"),
    ("float(a)", "double"),
    ("str(d)", "string"),
    ("len(s)", "long"),
    ("upper(s)", "string"),
    ("endswith(s, 'x')", "boolean"),
    ("1 if startswith(s, 'x') else 0", "long"),
]


# ------------------------------------------------------------------------------------------


def _run_case(expression: str, row: dict, expected: Any) -> dict[str, Any]:
    from skewless.expressions import parse_expression

    return {"expression": expression, "row": row, "expected": expected, "tree": parse_expression(expression).to_json()["tree"]}


def _filter_case(expression: str, row: dict, expected: Any) -> dict[str, Any]:
    case = _run_case(expression, row, {"kept": expected == "kept"} if isinstance(expected, str) else expected)
    return {"filter": case.pop("expression"), **case}


def table() -> dict[str, Any]:
    run = [*operand_matrix(), *ARITHMETIC_EDGES, *COMPARISONS, *CONDITIONS, *FUNCTION_CASES, *ROWS]
    return {
        "about": (
            "Conformance table of docs/expressions.md, written by tests/conformance/build_table.py. "
            "'cases' run each expression as the derived column x on the row (typed values; a null keeps its "
            "column's type) and expect a typed value or an error (code and detail; the reason is "
            "<what> \"<source>\": row_logic.<code>: <detail>); 'filters' run it as the filter. 'tree' is "
            "what the Python parser makes of it, which the JVM evaluates. 'refusals' and 'types' check the "
            "compiler against 'columns'."
        ),
        "columns": COLUMNS,
        "cases": [_run_case(*c) for c in run],
        "filters": [_filter_case(*c) for c in FILTERS],
        "refusals": [{"expression": e, "code": c} for e, c in REFUSALS],
        "types": [{"expression": e, "type": t} for e, t in TYPES],
    }


def render(doc: dict[str, Any]) -> str:
    """One case per line, so a diff of the table reads case by case."""
    parts = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, list):
            lines = [f"    {json.dumps(item, ensure_ascii=False)}" for item in value]
            parts.append(f'  "{key}": [\n' + ",\n".join(lines) + f"\n  ]{comma}")
        else:
            parts.append(f'  "{key}": {json.dumps(value, ensure_ascii=False)}{comma}')
    parts.append("}")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(table()), encoding="utf-8")
    doc = table()
    counts = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    print(f"wrote {TABLE}: {counts}", file=sys.stderr)
