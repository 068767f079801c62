"""RowLogic.to_json: the trees the JVM evaluator (io.skewless.logic) reads, in the documented format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from skewless.expressions import RowLogic, RowLogicError, parse_expression, row_logic_json


def tree(source: str) -> dict[str, Any]:
    return parse_expression(source).to_json()["tree"]


def const(kind: str, value: Any) -> dict[str, Any]:
    return {"node": "const", "type": kind, "value": value}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("7", const("long", 7)),
        ("-9223372036854775808", const("long", -(2**63))),
        ("2.5", const("double", 2.5)),
        ("1e16", const("double", 1e16)),
        ("-0.0", const("double", -0.0)),
        ("True", const("boolean", True)),
        ("'é😀'", const("string", "é😀")),
        ("None", const("null", None)),
    ],
)
def test_constants_keep_their_type(source: str, expected: dict[str, Any]) -> None:
    assert tree(source) == expected


def test_every_node_kind() -> None:
    got = tree("-x // 2 if not (a and b or c) else round(y, 1) if z in (1, 'a') else 0")
    assert got == {
        "node": "if",
        "test": {
            "node": "unary",
            "op": "not",
            "operand": {
                "node": "or",
                "values": [
                    {"node": "and", "values": [{"node": "field", "name": "a"}, {"node": "field", "name": "b"}]},
                    {"node": "field", "name": "c"},
                ],
            },
        },
        "body": {
            "node": "binary",
            "op": "//",
            "left": {"node": "unary", "op": "-", "operand": {"node": "field", "name": "x"}},
            "right": const("long", 2),
        },
        "orelse": {
            "node": "if",
            "test": {
                "node": "compare",
                "first": {"node": "field", "name": "z"},
                "ops": ["in"],
                "rest": [{"node": "tuple", "items": [const("long", 1), const("string", "a")]}],
            },
            "body": {"node": "call", "function": "round", "args": [{"node": "field", "name": "y"}, const("long", 1)]},
            "orelse": const("long", 0),
        },
    }


def test_compare_chains_name_every_operator() -> None:
    got = tree("a < b <= c == d != e > f >= g not in [h] is not None is None")
    assert got["ops"] == ["<", "<=", "==", "!=", ">", ">=", "not in", "is not", "is"]
    assert got["rest"][6] == {"node": "tuple", "items": [{"node": "field", "name": "h"}]}


def test_row_logic_document() -> None:
    doc = json.loads(row_logic_json([("big", "amount > 500"), ("eur", "lower(cur)")], " big "))
    assert doc["version"] == 2
    assert [(d["name"], d["what"], d["source"]) for d in doc["derived"]] == [
        ("big", "derived column 'big'", "amount > 500"),
        ("eur", "derived column 'eur'", "lower(cur)"),
    ]
    assert doc["derived"][1]["tree"]["function"] == "lower"
    assert doc["filter"] == {"what": "filter", "source": "big", "tree": {"node": "field", "name": "big"}}
    assert json.loads(RowLogic([("x", "1")], None).to_json())["filter"] is None


def test_a_double_constant_survives_json_exactly() -> None:
    doc = json.loads(row_logic_json([("x", "0.1 + 1e-300 + 5e-324")], None))
    constants = [doc["derived"][0]["tree"]["left"]["right"]["value"], doc["derived"][0]["tree"]["right"]["value"]]
    assert constants == [1e-300, 5e-324]


def test_failures_carry_their_code_and_operand_types() -> None:
    logic = RowLogic([("p", "int(s) * int(s)")], None)
    with pytest.raises(RowLogicError) as failed:
        logic({"s": "9" * 10})
    assert (failed.value.code, failed.value.op, failed.value.operand_types) == ("integer_overflow", "*", ("long", "long"))
    assert failed.value.reason == "derived column 'p' \"int(s) * int(s)\": row_logic.integer_overflow: long * long"
