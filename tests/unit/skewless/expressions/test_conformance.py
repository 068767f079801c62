"""skewless.expressions against the conformance table (tests/conformance/expressions.json), which
the JVM evaluator passes too (jvm/flink ConformanceTest)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from skewless.expressions import ExpressionError, RowLogic, RowLogicError, check_row_logic, parse_expression
from tests.conformance import build_table

DOC = json.loads(build_table.TABLE.read_text(encoding="utf-8"))


def case_id(case: dict[str, Any]) -> str:
    expression = case.get("expression", case.get("filter", ""))
    return expression if len(expression) < 60 else expression[:57] + "..."


def row_of(typed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: next(iter(value.values())) for name, value in typed.items()}


def typed(value: Any) -> dict[str, Any]:
    """The table's notation of a value: {"long": 3}, {"double": -0.0}, {"null": None}..."""
    if value is None:
        return {"null": None}
    kind = {bool: "boolean", int: "long", float: "double", str: "string"}[type(value)]
    return {kind: value}


def same(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """Typed equality; doubles by sign too (0.0 and -0.0 differ)."""
    if got.keys() != want.keys():
        return False
    g, w = next(iter(got.values())), next(iter(want.values()))
    if isinstance(w, float):
        return g == w and math.copysign(1, g) == math.copysign(1, w)
    return g == w


def reason(what: str, source: str, expected: dict[str, Any]) -> str:
    return f'{what} "{source}": row_logic.{expected["error"]}: {expected["detail"]}'


def test_the_checked_in_table_is_what_the_builder_writes() -> None:
    """Trees come from today's parser; rerun tests/conformance/build_table.py after changing either."""
    assert build_table.TABLE.read_text(encoding="utf-8") == build_table.render(build_table.table())


def test_the_table_covers_the_language() -> None:
    assert len(DOC["cases"]) + len(DOC["filters"]) + len(DOC["refusals"]) + len(DOC["types"]) >= 250
    called = {c["expression"].split("(")[0] for c in DOC["cases"] if "(" in c["expression"]}
    from skewless.expressions import FUNCTIONS

    assert set(FUNCTIONS) <= called
    codes = {c["expected"].get("error") for c in DOC["cases"] + DOC["filters"]}
    expected_codes = {"type_mismatch", "null_operand", "integer_overflow", "division_by_zero", "not_finite"}
    assert expected_codes | {"invalid_number", "invalid_argument", "missing_field"} <= codes


@pytest.mark.parametrize("case", DOC["cases"], ids=case_id)
def test_expression(case: dict[str, Any]) -> None:
    logic = RowLogic([("x", case["expression"])], None)
    assert json.loads(logic.to_json())["derived"][0]["tree"] == case["tree"]
    expected = case["expected"]
    row = row_of(case["row"])
    if "error" in expected:
        with pytest.raises(RowLogicError) as failed:
            logic(row)
        assert failed.value.code == expected["error"]
        assert failed.value.reason == reason("derived column 'x'", case["expression"], expected)
    else:
        out = logic(row)
        assert out is not None
        assert same(typed(out["x"]), expected), f"got {typed(out['x'])}"


@pytest.mark.parametrize("case", DOC["filters"], ids=case_id)
def test_filter(case: dict[str, Any]) -> None:
    logic = RowLogic([], case["filter"])
    assert json.loads(logic.to_json())["filter"]["tree"] == case["tree"]
    expected = case["expected"]
    row = row_of(case["row"])
    if "error" in expected:
        with pytest.raises(RowLogicError) as failed:
            logic(row)
        assert failed.value.reason == reason("filter", case["filter"], expected)
    else:
        assert (logic(row) is not None) == expected["kept"]


@pytest.mark.parametrize("case", DOC["refusals"], ids=case_id)
def test_refusal(case: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError) as refused:
        parse_expression(case["expression"], columns=DOC["columns"])
    assert refused.value.code == case["code"], str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("case", DOC["types"], ids=case_id)
def test_static_type(case: dict[str, Any]) -> None:
    assert (parse_expression(case["expression"], columns=DOC["columns"]).type or "unknown") == case["type"]


def test_filters_must_be_boolean() -> None:
    with pytest.raises(ExpressionError, match=r'filter "a \+ 1" must be a boolean, but it is always a long') as refused:
        check_row_logic([], "a + 1", DOC["columns"])
    assert refused.value.code == "type_mismatch"


def test_the_table_lives_where_the_jvm_test_looks() -> None:
    assert build_table.TABLE == Path(__file__).resolve().parents[3] / "conformance" / "expressions.json"
