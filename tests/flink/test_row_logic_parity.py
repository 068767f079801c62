"""The JVM row logic (jvm/flink, io.skewless.logic) against the Python one, over random expressions.

skewless.expressions parses each expression and serializes its tree (`RowLogic.to_json()`);
the Java `RowLogicReplay` harness evaluates the trees on the same records. One JVM answers every
case of the module, line by line. For each record the two must agree exactly: dropped or not,
every column's type and value (floats bit for bit), or the very same failure reason.
"""

from __future__ import annotations

import importlib
import json
import math
import random
import struct
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from skewless.dsl import Source
from skewless.errors import SpecError
from skewless.expressions import RowLogic, RowLogicError

RANDOM_CASES = 3000
FIELDS = ["i", "j", "f", "g", "s", "u", "n", "k"]


# ---------------------------------------------------------------------------------------------
# The JVM side: one process, one JSON line per question.


class Jvm:
    def __init__(self, jar: str) -> None:
        self.process = subprocess.Popen(
            ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", jar, "io.skewless.logic.RowLogicReplay"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.cases = 0

    def ask(self, question: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(question) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, "RowLogicReplay exited"
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def jvm(jar: str) -> Iterator[Jvm]:
    process = Jvm(jar)
    yield process
    print(f"\nrow logic parity: {process.cases} records compared")
    process.close()


def _encode(value: Any) -> dict[str, Any]:
    if value is None:
        return {"type": "none", "value": None}
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value.hex()}
    assert isinstance(value, str), value
    return {"type": "str", "value": value}


def _typed(value: Any) -> tuple[str, Any]:
    """A value as (type, comparable): floats by their bits, so -0.0 != 0.0."""
    if isinstance(value, float):
        return ("float", struct.pack(">d", value))
    return (type(value).__name__, value)


def _decode(encoded: dict[str, Any]) -> tuple[str, Any]:
    kind, value = encoded["type"], encoded["value"]
    decoded = {"none": None, "bool": value, "str": value}.get(kind)
    if kind == "int":
        decoded = int(value)
    elif kind == "float":
        decoded = float.fromhex(value)
    elif kind not in ("none", "bool", "str"):
        raise AssertionError(f"Java returned a value of type {kind}")
    return _typed(decoded)


def python_answer(logic: RowLogic, record: dict[str, Any]) -> dict[str, Any] | None:
    """What the harness must answer, in its own shape; None when Python itself breaks (not a case)."""
    try:
        row = logic(dict(record))
    except RowLogicError as exc:
        return {"reason": exc.reason}
    except (RecursionError, MemoryError):
        return None
    if row is None:
        return {"dropped": True}
    return {"row": {name: _typed(v) for name, v in row.items()}}


def check(jvm: Jvm, logic: RowLogic, records: list[dict[str, Any]]) -> None:
    assert jvm.ask({"logic": logic.to_json()}) == {"ok": True}
    for record in records:
        expected = python_answer(logic, record)
        if expected is None:
            continue
        actual = jvm.ask({"record": {k: _encode(v) for k, v in record.items()}})
        if "row" in actual:
            actual = {"row": {name: _decode(v) for name, v in actual["row"].items()}}
        jvm.cases += 1
        assert actual == expected, f"record {record!r}\nlogic {logic.to_json()}"


def row_logic(derived: list[tuple[str, str]], filter: str | None) -> RowLogic:
    return RowLogic(derived, filter)


# ---------------------------------------------------------------------------------------------
# Random expressions: source strings over the whole grammar, parsed by the Python parser.

EDGE_INTS = [0, 1, -1, 2, 7, -7, 10, 2**31, 2**53, 2**53 + 1, -(2**53) - 1, 2**63 - 1, -(2**63), 10**18]
EDGE_FLOATS = [0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.1, 1e308, -1e308, 5e-324, 2.0**53, 1e16, 1e-5, 2.675, 1e22, 123.456]
EDGE_STRINGS = ["", "a", "Eur", "EUR", " 12 ", "1_000", "-7", "+3", "١٢", "𝟙𝟚", "1e5", "1.5", " inf", "-nan", "nAn"]
EDGE_STRINGS += ["ß", "ΑΣ", "İ", "ﬁ", "x\ty", "it's", 'say "hi"', "\\", "\x00", "é", "😀", "\u2028", "0x10", "1__0", "٣.5"]

int_values = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-100, 100), st.integers(-(2**63), 2**63 - 1))
float_values = st.one_of(
    st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-20, 20).map(lambda n: n + 0.5),
    st.floats(-1000, 1000).map(lambda x: round(x, 3)),
)
str_values = st.one_of(st.sampled_from(EDGE_STRINGS), st.text(max_size=8))
any_value = st.one_of(st.none(), st.booleans(), int_values, float_values, str_values)


def _biased(favourite: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(favourite, favourite, favourite, any_value)


_full_records = st.fixed_dictionaries(
    {
        "i": _biased(int_values),
        "j": _biased(int_values),
        "f": _biased(float_values),
        "g": _biased(float_values),
        "s": _biased(str_values),
        "u": _biased(str_values),
        "n": any_value,
        "k": st.integers(-12, 12),  # round()'s ndigits: Python builds 10**-n, so keep it small
    }
)
_dropped = st.one_of(st.just(frozenset()), st.just(frozenset()), st.sets(st.sampled_from(FIELDS[:8]), max_size=2))
records = st.tuples(_full_records, _dropped).map(lambda t: {k: v for k, v in t[0].items() if k not in t[1]})

int_literals = st.one_of(st.integers(0, 12), st.sampled_from([2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, 255]))
float_literals = st.one_of(st.sampled_from(EDGE_FLOATS), st.floats(0, 1e6), st.sampled_from([1e999, 1e300]))
literals = st.one_of(
    int_literals.map(str),
    float_literals.map(lambda x: "1e999" if math.isinf(x) else repr(x)),
    str_values.map(repr),
    st.sampled_from(["True", "False", "None"]),
)
fields = st.sampled_from(FIELDS * 4 + ["d0", "d1"])
leaves = st.one_of(fields, literals)  # d0, d1: the derived columns, or missing when not (yet) derived
ndigits = st.one_of(st.integers(-25, 25).map(str), st.sampled_from(["k", "None", "True", "1.0", "'2'", "400", "-400", "10**40"]))
ndigits = ndigits.map(lambda s: "10000000000000000000000000000000000000000" if s == "10**40" else s)

BINARY = ["+", "-", "*", "/", "//", "%"]
ORDER = ["==", "!=", "<", "<=", ">", ">="]
ONE_ARG = ["abs", "int", "float", "str", "len", "lower", "upper"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    def membership(op: str) -> st.SearchStrategy[str]:
        tuple_literal = st.lists(children, max_size=3).map(lambda xs: "(" + "".join(f"{x}, " for x in xs) + ")")
        return st.one_of(children, tuple_literal).map(lambda rhs: f"{op} {rhs}")

    link = st.one_of(
        st.tuples(st.sampled_from(ORDER), children).map(" ".join),
        st.sampled_from(["in", "not in"]).flatmap(membership),
        st.sampled_from(["is None", "is not None"]),
    )
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda t: f"({t[0]}{t[1]})"),
        st.tuples(st.sampled_from([" and ", " or "]), st.lists(children, min_size=2, max_size=3)).map(
            lambda t: "(" + t[0].join(t[1]) + ")"
        ),
        st.tuples(children, st.lists(link, min_size=1, max_size=3)).map(lambda t: "(" + " ".join([t[0], *t[1]]) + ")"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(st.sampled_from(ONE_ARG), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.one_of(st.none(), ndigits)).map(
            lambda t: f"round({t[0]})" if t[1] is None else f"round({t[0]}, {t[1]})"
        ),
        st.tuples(st.sampled_from(["min", "max", "coalesce"]), st.lists(children, min_size=2, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=10)


@st.composite
def cases(draw: st.DrawFn) -> tuple[RowLogic, list[dict[str, Any]]]:
    derived = [(f"d{i}", draw(expressions)) for i in range(draw(st.integers(0, 2)))]
    filter = draw(st.one_of(st.none(), expressions)) if derived else draw(expressions)
    try:
        logic = row_logic(derived, filter)
    except SpecError:
        assume(False)
    return logic, draw(st.lists(records, min_size=1, max_size=6))


@settings(
    max_examples=RANDOM_CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(cases())
def test_random_row_logic_matches_python(jvm: Jvm, case: tuple[RowLogic, list[dict[str, Any]]]) -> None:
    logic, rows = case
    check(jvm, logic, rows)


# ---------------------------------------------------------------------------------------------
# Hand-picked edge cases: each expression as a derived column and as a filter, on every record.

EDGE_EXPRESSIONS = [
    # int / float arithmetic, signed zeros, Python's floor and modulo signs
    "i + 1", "i * i * i", "i - 1", "-i", "+i", "abs(i)", "i / 7", "i // 7", "i % 7", "i // -7", "i % -7",
    "f / 3", "f // 0.75", "f % 0.75", "f // -0.75", "f % -0.75", "-f", "f * 0", "0.0 / -1", "0 / -5",
    "-0.0 // 1", "-0.0 % 1", "5.0 % -0.0", "f // 1e-300", "f % 1e308", "1e308 * 10 // 1", "True + True",
    "True / False", "i // 0", "i % 0", "f / 0", "f // 0", "f % 0", "i / 0.0",
    "9223372036854775807 + 1", "-9223372036854775808 // -1",
    "100000000000000000000000000000 / 3", "10000000000000000000000000000000000000000 * f",
    "1 / 100000000000000000000000000000000000000000", "9007199254740993 / 1", "9007199254740993 + 0.0",
    # comparisons: exact int vs float, chains, membership, None
    "9007199254740993 > 9007199254740992.0", "i == f", "i < f <= g", "i in (1, 2.0, 'a')", "s in 'abcEur'",
    "i in s", "s not in (u, 'EUR')", "n is None", "n is not None", "s < u", "s < i", "n < 1", "i > n",
    "i in (1,) in (True,)", "1.0 in (i,)", "'😀' > '\uffff'", "f in (f,)", "(f - f) in ((f - f),)",
    # and / or return operands; truthiness
    "s and i", "s or f", "n or s or 0", "not s", "not f", "0.0 or -0.0", "i if s else f",
    # functions
    "round(f)", "round(f, 1)", "round(f, 2)", "round(2.675, 2)", "round(0.125, 2)", "round(i, -1)",
    "round(i, -2)", "round(-25, -1)", "round(f, -308)", "round(f, -309)", "round(f, 400)", "round(1e308, -308)",
    "round(s)", "round(f, 1.0)", "round(i, '2')", "round(f, None)", "round(True, 1)", "round(f * 1e308)",
    "min(i, f)", "max(i, f)", "min(s, i)", "max(n, 1)", "min(1, 1.0)", "max(1.0, 1, True)",
    "int(f)", "int(s)", "int(u)", "int(n)", "int(f * 1e308)", "int(f * 0 * 1e308 * 1e308)", "float(s)",
    "float(u)", "float(n)", "float(i)", "float(100000000000000000000000000000000000000000)", "str(f)",
    "str(i)", "str(n)", "str(True)", "str(f / 3)", "str(f * 1e20)", "str(1e16)", "str(1e-5)", "len(s)",
    "len(i)", "lower(s)", "upper(s)", "upper(i)", "coalesce(n, s)", "coalesce(n, n)", "coalesce(s, 1 / 0)",
    "abs(s)", "abs(n)", "abs(-9223372036854775808)", "len(str(f)) + len(s)", "s + u", "s + i", "n + 1",
    "s * 2", "-s", "missing + 1",
    # `in` on a tuple tries identity first: a NaN object is in a tuple holding that very object
    "g in (g,)", "(+g) in (g,)", "float(g) in (g,)", "min(g, 1) in (g,)", "(g + 0) in (g,)", "abs(g) in (g,)",
    "coalesce(g) in (g,)", "(g or 1) in (g,)", "(s and g) in (1, g)",
]

EDGE_RECORDS: list[dict[str, Any]] = [
    {"i": 7, "f": 2.5, "g": 3.0, "s": "Eur", "u": "usd", "n": None},
    {"i": 0, "f": -0.0, "g": 0.0, "s": "", "u": "", "n": 0},
    {"i": -(2**63), "f": 1e308, "g": 5e-324, "s": " 12 ", "u": "1_000.5", "n": True},
    {"i": 2**63 - 1, "f": -1.5, "g": 0.5, "s": "١٢", "u": " -inf ", "n": 1.0},
    {"i": -7, "f": 0.1, "g": 1e-300, "s": "ΑΣ ΣΑΣ. Σ", "u": "ß ﬁ İ", "n": "x"},
    {"i": 2**53 + 1, "f": 2.0**53, "g": -2.5, "s": "😀a", "u": "\uffff", "n": False},
    {"i": True, "f": 1e16, "g": 123456789.125, "s": "1__0", "u": "0x10", "n": -0.0},
    {"i": 12, "f": float("inf"), "g": float("nan"), "s": "\x00\t'\"", "u": "\u2028 7 \xa0", "n": ""},
]


def test_edge_cases_match_python(jvm: Jvm) -> None:
    for source in EDGE_EXPRESSIONS:
        for logic in (row_logic([("d0", source)], None), row_logic([], source)):
            check(jvm, logic, EDGE_RECORDS)


def test_case_mapping_and_final_sigma_match_python(jvm: Jvm) -> None:
    words = ["Σ", "ΑΣ", "ΑΣ Α", "ΑΣ.", "Α.Σ", "aΣ'a", "AΣ'", "Σ'Σ", "ΣΑ", "ǅ", "ǈ", "ŉ", "ΐ", "ﬃ", "Ⰿ", "ⱟ", "𐕰", "𐖗"]
    words += ["ꟀꟁꟐꟑ", "aΣ𐕰", "ﬓ", "ẞ", "ı", "i̇", "\u0345", "Ω", "K", "Å", "𝟙", "Ⓐ", "ⓐ"]
    logic = row_logic([("lo", "lower(s)"), ("up", "upper(s)"), ("n", "len(lower(s)) + len(upper(s))")], None)
    check(jvm, logic, [{"s": w} for w in words])


def test_string_conversions_match_python(jvm: Jvm) -> None:
    texts = ["0", "-0", "+5", " 7 ", "\t7\n", "1_000", "_1", "1_", "1__0", "1e3", "1.", ".5", ".", "e5", "1e", "1e+",
             "1E-2", "inf", "-Infinity", "+nan", "in", "1_0.0_1", "1_.5", "1._5", "1e_5", "0x1p3", "1d", "1f", "٣",
             "٣.٥", "१२", "𝟗", "\u2007 5 \u2007", "\x1c5", "5\x00", "1" * 4301, "1" * 4300, "9" * 30, "1é", "é" * 300,
             "x" * 250, "'" * 3, "\u0378", "\ue000", "\U000e0001", "\u0870", "\ud7ff", "\x7f", "\x85 5 \x85", "1" * 400]
    logic = row_logic([("a", "coalesce(s) and str(s)"), ("b", "len(s)")], "int(s) + 1 or float(s) or True")
    more = row_logic([("c", "float(s)")], None)
    huge = row_logic([("p", "int(s) * int(s)")], "str(int(s) * int(s))")  # over 4300 digits: Python refuses
    texts += ["9" * 2200, "9" * 4000, "-" + "9" * 2100]
    for each in (logic, more, huge):
        check(jvm, each, [{"s": t} for t in texts])


def test_float_repr_matches_python(jvm: Jvm) -> None:
    values = [0.1, 0.2 + 0.1, 1 / 3, 1e16, 1e15, 9999999999999998.0, 1e-4, 1e-5, 1.5e-5, 5e-324, 2.2250738585072014e-308,
              1.7976931348623157e308, 1e22, 1e23, 2.0**63, 2.0**-20, 123456789012345678.0, 100.0, 0.3, 2.5e-10]
    values += [-v for v in values]
    logic = row_logic([("r", "str(f)"), ("h", "round(f, 3)"), ("q", "f // 0.1"), ("m", "f % 0.1")], None)
    check(jvm, logic, [{"f": v} for v in values])


# ---------------------------------------------------------------------------------------------
# The example feature repo's sources.


def _sources() -> list[Source]:
    found = []
    for module_name in ("features.merchants", "features.transactions"):
        module = importlib.import_module(module_name)
        found += [v for v in vars(module).values() if isinstance(v, Source) and (v.derived or v.filter)]
    return found


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "amount": st.one_of(float_values, st.sampled_from([0.0, -1.0, 499.99, 500.0, 543.48])),
                "currency": st.one_of(st.sampled_from(["EUR", "eur", "Eur", "USD", "ß", "EUR "]), str_values),
                "event_id": st.just("e1"),
                "user_id": st.just("u1"),
                "merchant_id": st.just("m1"),
                "event_time": st.integers(0, 2**41),
            }
        ),
        min_size=1,
        max_size=20,
    )
)
def test_feature_repo_row_logic_matches_python(jvm: Jvm, rows: list[dict[str, Any]]) -> None:
    sources = _sources()
    assert any(s.derived for s in sources) and any(s.filter for s in sources), "features/ lost its row logic"
    for source in sources:
        check(jvm, RowLogic(source.derived, source.filter), rows)


# ---------------------------------------------------------------------------------------------
# Bulk numerics: random bit patterns where rounding, repr and exact comparison are hardest.

BULK_EXPRESSIONS = [
    "i / j", "i // j", "i % j", "i * j", "f // g", "f % g", "f / g", "str(f)", "str(f * g)", "round(f, k)",
    "round(i, k)", "round(f)", "int(f)", "i < f", "i == f", "f <= i", "float(s)", "int(s)", "i / 3 + f",
    "(i * j) / (j + 3)", "min(i, f, g)",
]


def _bulk_records(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)

    def a_float() -> float:
        while True:
            x = rng.choice(
                [
                    struct.unpack(">d", rng.getrandbits(64).to_bytes(8, "big"))[0],
                    rng.uniform(-1e6, 1e6),
                    rng.randint(-(10**6), 10**6) / rng.choice([2, 4, 8, 10, 100, 1000]),
                    float(rng.randint(-(2**63), 2**63)),
                    rng.choice([1.0, -1.0]) * 2.0 ** rng.randint(-1074, 1023),
                ]
            )
            if math.isfinite(x):
                return x

    def an_int() -> int:
        return rng.choice(
            [
                rng.randint(-(2**63), 2**63 - 1),
                rng.randint(-1000, 1000),
                rng.choice([1, -1]) * (2 ** rng.randint(0, 62) + rng.randint(-3, 3)),
            ]
        )

    def a_numeric_text() -> str:
        body = rng.choice([str(an_int()), repr(a_float()), f"{a_float():.{rng.randint(0, 30)}e}", str(rng.randint(0, 10**30))])
        return rng.choice(["", " ", "\t", "+"]) * (body[0] != "-") + body + rng.choice(["", " ", "\n"])

    return [
        {"i": an_int(), "j": an_int(), "f": a_float(), "g": a_float(), "k": rng.randint(-20, 20), "s": a_numeric_text()}
        for _ in range(n)
    ]


@pytest.mark.parametrize("source", BULK_EXPRESSIONS)
def test_bulk_numerics_match_python(jvm: Jvm, source: str) -> None:
    check(jvm, row_logic([("d0", source)], None), _bulk_records(BULK_EXPRESSIONS.index(source), 600))
