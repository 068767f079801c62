"""Evaluation: values keep their static type, failures on one event are RowLogicError, and RowLogic
applies a view's derived columns then its filter (the semantics case by case: test_conformance.py)."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skewless.errors import SpecError
from skewless.events.codec import DecodeError
from skewless.expressions import (
    BOOL,
    DOUBLE,
    LONG,
    NUMBER,
    STRING,
    RowLogic,
    RowLogicError,
    check_row_logic,
    compile_row_logic,
    parse_expression,
    type_name,
)
from skewless.spec import FeatureSpec, ViewSpec

ROW: dict[str, Any] = {"a": 7, "b": -2.5, "z": 0, "n": None, "s": "Eur", "t": "usd", "e": "", "f": True}
COLUMNS = {"a": LONG, "b": DOUBLE, "z": LONG, "n": DOUBLE, "s": STRING, "t": STRING, "e": STRING, "f": BOOL}

# A typed grammar: expressions the checker accepts, whose failures can only come from the values.
num_leaf = st.one_of(
    st.integers(-6, 6).map(str),
    st.sampled_from(["0.5", "1.25", "-3.0", "1e308", "9223372036854775807"]),
    st.sampled_from(["a", "b", "z", "n"]),
)
str_leaf = st.one_of(st.sampled_from(["s", "t", "e"]), st.text("abEU", max_size=3).map(repr))


def _num(children: st.SearchStrategy[str], strings: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "+"]), children).map(lambda t: f"({t[0]}{t[1]})"),
        children.map(lambda c: f"abs({c})"),
        children.map(lambda c: f"round({c})"),
        st.tuples(children, st.integers(-2, 3)).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: f"min({', '.join(xs)})"),
        strings.map(lambda c: f"len({c})"),
        children.map(lambda c: f"int({c})"),
        st.one_of(children, strings).map(lambda c: f"float({c})"),
        st.lists(children, min_size=1, max_size=3).map(lambda xs: f"coalesce({', '.join(xs)})"),
    )


def _str(children: st.SearchStrategy[str], numbers: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(lambda t: f"({t[0]} + {t[1]})"),
        children.map(lambda c: f"upper({c})"),
        numbers.map(lambda c: f"str({c})"),
    )


def _bool(numbers: st.SearchStrategy[str], strings: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    return st.one_of(
        st.just("f"),
        st.tuples(numbers, ops, numbers, ops, numbers).map(lambda t: f"({' '.join(t)})"),
        st.tuples(strings, ops, strings).map(lambda t: f"({' '.join(t)})"),
        st.tuples(strings, st.sampled_from(["in", "not in"]), strings).map(lambda t: f"({' '.join(t)})"),
        st.tuples(numbers, st.sampled_from(["is", "is not"])).map(lambda t: f"({t[0]} {t[1]} None)"),
        st.tuples(strings, strings).map(lambda t: f"startswith({t[0]}, {t[1]})"),
    )


def _expressions(depth: int) -> st.SearchStrategy[str]:
    numbers, strings = num_leaf, str_leaf
    for _ in range(depth):
        numbers, strings = st.one_of(num_leaf, _num(numbers, strings)), st.one_of(str_leaf, _str(strings, numbers))
    bools = _bool(numbers, strings)
    logic = st.one_of(
        st.tuples(bools, st.sampled_from(["and", "or"]), bools).map(lambda t: f"({' '.join(t)})"),
        bools.map(lambda c: f"(not {c})"),
        st.tuples(numbers, bools, numbers).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )
    return st.one_of(numbers, strings, bools, logic)


@given(source=_expressions(depth=2))
@settings(max_examples=400, deadline=None)
def test_values_have_their_static_type_and_failures_are_row_logic_errors(source: str) -> None:
    expr = parse_expression(source, columns=COLUMNS)
    try:
        value = expr.evaluate(ROW)
    except RowLogicError as failed:
        assert failed.code in {"null_operand", "integer_overflow", "division_by_zero", "not_finite", "invalid_number"}
        return
    kind = type_name(value)
    assert value is None or kind == expr.type or (expr.type == NUMBER and kind in (LONG, DOUBLE)), (source, value)
    assert not (isinstance(value, int) and not isinstance(value, bool)) or -(2**63) <= value < 2**63


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a / z", "row_logic.division_by_zero: long / long"),
        ("a % z", "row_logic.division_by_zero: long % long"),
        ("n * 2", "row_logic.null_operand: null * long"),
        ("n > 1", "row_logic.null_operand: null > long"),
        ("missing + 1", "row_logic.missing_field: missing"),
        ("int(s)", "row_logic.invalid_number: int(string)"),
        ("round(1e308 * 10)", "row_logic.not_finite: round(double)"),
        ("a * 9223372036854775807", "row_logic.integer_overflow: long * long"),
    ],
)
def test_failures_on_one_event_are_row_logic_errors_with_a_reason(source: str, reason: str) -> None:
    expr = parse_expression(source, what="filter")
    with pytest.raises(RowLogicError) as err:
        expr.evaluate(ROW)
    assert err.value.reason == f'filter "{source}": {reason}'
    assert isinstance(err.value, DecodeError)  # the decode stage already dead-letters these


def test_short_circuits_skip_what_they_skip() -> None:
    assert parse_expression("z != 0 and a / z > 1").evaluate(ROW) is False
    assert parse_expression("a if z == 0 else a / z").evaluate(ROW) == 7
    assert parse_expression("1 < z < a / z").evaluate(ROW) is False  # chained compare stops at the first False
    assert parse_expression("coalesce(a, a / z)").evaluate(ROW) == 7


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
    with pytest.raises(RowLogicError, match=r"row_logic.not_finite: result\(double\)"):
        logic({"amount": 10.0})
    logic = compile_row_logic(_spec(derived=(("x", "n * n * n"),)))
    assert logic({"n": 2**20})["x"] == 2**60
    with pytest.raises(RowLogicError, match="row_logic.integer_overflow: long [*] long"):
        logic({"n": 2**22})


def test_row_logic_failures_name_the_derived_column() -> None:
    logic = compile_row_logic(_spec(derived=(("ratio", "amount / qty"),)))
    with pytest.raises(RowLogicError) as err:
        logic({"amount": 1.0, "qty": 0})
    assert err.value.reason == "derived column 'ratio' \"amount / qty\": row_logic.division_by_zero: double / long"


def test_row_logic_pickles_for_the_flink_workers() -> None:
    logic = compile_row_logic(_spec(derived=(("d", "lower(c) + 'x'"),), filter="d != 'ax'"))
    clone = pickle.loads(pickle.dumps(logic))
    assert clone({"c": "B"}) == {"c": "B", "d": "bx"}
    assert clone({"c": "A"}) is None


def test_check_row_logic_reports_unknown_columns_and_shadowing() -> None:
    columns = {"amount": DOUBLE, "currency": STRING}
    assert check_row_logic((("eur", "amount * 2"),), "eur > 1", columns) == {**columns, "eur": DOUBLE}
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
