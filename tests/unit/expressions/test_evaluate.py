"""Evaluation: Python's semantics on the whitelisted grammar; failures on one event are RowLogicError."""

from __future__ import annotations

import builtins
import math
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skewless.errors import SpecError
from skewless.events.codec import DecodeError
from skewless.expressions import RowLogic, RowLogicError, check_row_logic, compile_row_logic, parse_expression
from skewless.spec import FeatureSpec, ViewSpec

ROW: dict[str, Any] = {"a": 7, "b": -2.5, "z": 0, "n": None, "s": "Eur", "t": "usd", "e": ""}

# Python's own functions, for the oracle: the evaluator must agree with them.
ORACLE_FUNCTIONS = {
    "lower": str.lower,
    "upper": str.upper,
    "coalesce": lambda *v: next((x for x in v if x is not None), None),
}

# A typed grammar, so that arithmetic never meets a string (which the evaluator refuses on purpose).
num_leaf = st.one_of(
    st.integers(-6, 6).map(str),
    st.sampled_from(["0.5", "1.25", "-3.0", "1e308", "True", "False"]),
    st.sampled_from(["a", "b", "z", "n"]),
)
str_leaf = st.one_of(st.sampled_from(["s", "t", "e", "n"]), st.text("abEU", max_size=3).map(repr))


def _num(children: st.SearchStrategy[str], strings: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+"]), children).map(lambda t: f"({t[0]}{t[1]})"),
        children.map(lambda c: f"abs({c})"),
        children.map(lambda c: f"round({c})"),
        st.tuples(children, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: f"min({', '.join(xs)})"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: f"max({', '.join(xs)})"),
        strings.map(lambda c: f"len({c})"),
        children.map(lambda c: f"int({c})"),
        children.map(lambda c: f"float({c})"),
    )


def _str(children: st.SearchStrategy[str], numbers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"({t[0]} + {t[1]})"),
        children.map(lambda c: f"lower({c})"),
        children.map(lambda c: f"upper({c})"),
        numbers.map(lambda c: f"str({c})"),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: f"coalesce({', '.join(xs)})"),
    )


def _bool(numbers: st.SearchStrategy[str], strings: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    same_kind = st.one_of(numbers, strings)
    return st.one_of(
        st.tuples(numbers, ops, numbers, ops, numbers).map(lambda t: f"({' '.join(t)})"),
        st.tuples(strings, ops, strings).map(lambda t: f"({' '.join(t)})"),
        st.tuples(strings, st.sampled_from(["in", "not in"]), strings).map(lambda t: f"({' '.join(t)})"),
        st.tuples(same_kind, st.sampled_from(["in", "not in"]), st.lists(same_kind, min_size=1, max_size=3)).map(
            lambda t: f"({t[0]} {t[1]} ({', '.join(t[2])},))"
        ),
        st.tuples(same_kind, st.sampled_from(["is", "is not"])).map(lambda t: f"({t[0]} {t[1]} None)"),
    )


def _expressions(depth: int) -> st.SearchStrategy[str]:
    numbers, strings = num_leaf, str_leaf
    for _ in range(depth):
        numbers, strings = (
            st.one_of(num_leaf, _num(numbers, strings)),
            st.one_of(str_leaf, _str(strings, numbers)),
        )
    bools = _bool(numbers, strings)
    anything = st.one_of(numbers, strings, bools)
    logic = st.one_of(
        st.tuples(anything, st.sampled_from(["and", "or"]), anything).map(lambda t: f"({' '.join(t)})"),
        anything.map(lambda c: f"(not {c})"),
        st.tuples(anything, bools, anything).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )
    return st.one_of(anything, logic)


def _same(ours: Any, theirs: Any) -> bool:
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, float) and math.isnan(ours):
        return math.isnan(theirs)
    if isinstance(ours, tuple):
        return len(ours) == len(theirs) and all(_same(x, y) for x, y in zip(ours, theirs))
    return ours == theirs


@given(source=_expressions(depth=2))
@settings(max_examples=400, deadline=None)
def test_evaluation_matches_python(source: str) -> None:
    expr = parse_expression(source)
    try:
        theirs = eval(source, {"__builtins__": {}}, {**vars(builtins), **ORACLE_FUNCTIONS, **ROW})  # the oracle only
    except (ArithmeticError, TypeError, ValueError):
        with pytest.raises(RowLogicError):
            expr.evaluate(ROW)
        return
    ours = expr.evaluate(ROW)
    assert _same(ours, theirs), f"{source}: ours {ours!r}, python {theirs!r}"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a / z", "division by zero"),
        ("a % z", "modulo by zero"),
        ("n * 2", "'*' needs numbers, got NoneType * int"),
        ("n > 1", "'>' not supported between instances of 'NoneType' and 'int'"),
        ("missing + 1", "field 'missing' is missing from the event"),
        ("s * 3", "'*' needs numbers, got str * int"),
        ("s % a", "'%' needs numbers, got str % int"),
        ("lower(a)", "lower() needs a string, got int"),
        ("int(s)", "invalid literal for int()"),
        ("round(1e308 * 10)", "cannot convert float infinity to integer"),
    ],
)
def test_failures_on_one_event_are_row_logic_errors_with_a_reason(source: str, reason: str) -> None:
    expr = parse_expression(source, what="filter")
    with pytest.raises(RowLogicError) as err:
        expr.evaluate(ROW)
    assert reason in err.value.reason
    assert err.value.reason.startswith(f'filter "{source}"')
    assert isinstance(err.value, DecodeError)  # the decode stage already dead-letters these


def test_short_circuit_skips_what_python_skips() -> None:
    assert parse_expression("z != 0 and a / z > 1").evaluate(ROW) is False
    assert parse_expression("a if z == 0 else a / z").evaluate(ROW) == 7
    assert parse_expression("1 < z < a / z").evaluate(ROW) is False  # chained compare stops at the first False


def _spec(derived: tuple[tuple[str, str], ...] = (), filter: str | None = None) -> ViewSpec:
    return ViewSpec(
        name="v",
        version=1,
        entity_key="user_id",
        source_topic="t",
        event_time_field="ts",
        features=(FeatureSpec("count_1d", "count", None, 86_400_000, 3_600_000),),
        ttl_ms=86_400_000,
        derived=derived,
        filter=filter,
    )


def test_row_logic_applies_derived_columns_in_order_then_the_filter() -> None:
    logic = compile_row_logic(
        _spec(derived=(("eur", "amount if currency == 'EUR' else amount * 0.5"), ("big", "1 if eur > 10 else 0")),
              filter="big == 1 and amount > 0")
    )
    event = {"amount": 30.0, "currency": "USD"}
    assert logic(event) == {"amount": 30.0, "currency": "USD", "eur": 15.0, "big": 1}
    assert event == {"amount": 30.0, "currency": "USD"}, "the caller's event is never mutated"
    assert logic({"amount": 12.0, "currency": "USD"}) is None  # filtered out: 6 EUR is not big


def test_row_logic_without_expressions_returns_the_event_itself() -> None:
    event = {"amount": 1.0}
    assert compile_row_logic(_spec())(event) is event


def test_non_finite_or_huge_derived_values_are_row_logic_errors() -> None:
    logic = compile_row_logic(_spec(derived=(("x", "amount * 1e308"),)))
    with pytest.raises(RowLogicError, match="is inf, not a finite number"):
        logic({"amount": 10.0})
    logic = compile_row_logic(_spec(derived=(("x", "n * n * n"),)))
    assert logic({"n": 2**20})["x"] == 2**60
    with pytest.raises(RowLogicError, match="outside the 64-bit range"):
        logic({"n": 2**22})


def test_row_logic_failures_name_the_derived_column() -> None:
    logic = compile_row_logic(_spec(derived=(("ratio", "amount / qty"),)))
    with pytest.raises(RowLogicError) as err:
        logic({"amount": 1.0, "qty": 0})
    assert err.value.reason == "derived column 'ratio' \"amount / qty\": float division by zero"


def test_row_logic_pickles_for_the_flink_workers() -> None:
    logic = compile_row_logic(_spec(derived=(("d", "lower(c) + 'x'"),), filter="d != 'ax'"))
    clone = pickle.loads(pickle.dumps(logic))
    assert clone({"c": "B"}) == {"c": "B", "d": "bx"}
    assert clone({"c": "A"}) is None


def test_check_row_logic_reports_unknown_columns_and_shadowing() -> None:
    columns = {"amount": "number", "currency": "string"}
    assert check_row_logic((("eur", "amount * 2"),), "eur > 1", columns) == {**columns, "eur": "number"}
    with pytest.raises(SpecError, match="unknown column 'amout'"):
        check_row_logic((), "amout > 1", columns)
    with pytest.raises(SpecError, match="unknown column 'later'"):
        check_row_logic((("early", "later + 1"), ("later", "1")), None, columns)
    with pytest.raises(SpecError, match="would overwrite a source field"):
        check_row_logic((("amount", "amount * 2"),), None, columns)
    with pytest.raises(SpecError, match="must be an identifier"):
        check_row_logic((("bad name", "1"),), None, columns)


def test_row_logic_rejects_bad_expressions_at_construction() -> None:
    with pytest.raises(SpecError, match="attribute access"):
        RowLogic((("x", "a.__class__"),), None)
