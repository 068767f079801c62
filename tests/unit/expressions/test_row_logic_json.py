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
        ("7", const("int", "7")),
        ("123456789012345678901234567890", const("int", "123456789012345678901234567890")),
        ("2.5", const("float", "2.5")),
        ("1e16", const("float", "1e+16")),
        ("1e999", const("float", "inf")),
        ("True", const("bool", True)),
        ("'é😀'", const("str", "é😀")),
        ("None", const("none", None)),
    ],
)
def test_constants_keep_their_type(source: str, expected: dict[str, Any]) -> None:
    assert tree(source) == expected


def test_every_node_kind() -> None:
    got = tree("-x // 2 if not (a and b or c) else round(y, 1) + (z in (1, 'a'))")
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
            "right": const("int", "2"),
        },
        "orelse": {
            "node": "binary",
            "op": "+",
            "left": {"node": "call", "function": "round", "args": [{"node": "field", "name": "y"}, const("int", "1")]},
            "right": {
                "node": "compare",
                "first": {"node": "field", "name": "z"},
                "ops": ["in"],
                "rest": [{"node": "tuple", "items": [const("int", "1"), const("str", "a")]}],
            },
        },
    }


def test_compare_chains_name_every_operator() -> None:
    got = tree("a < b <= c == d != e > f >= g not in [h] is not None is None")
    assert got["ops"] == ["<", "<=", "==", "!=", ">", ">=", "not in", "is not", "is"]
    assert got["rest"][6] == {"node": "tuple", "items": [{"node": "field", "name": "h"}]}


def test_row_logic_document() -> None:
    doc = json.loads(row_logic_json([("big", "amount > 500"), ("eur", "lower(cur)")], " big "))
    assert doc["version"] == 1
    assert [(d["name"], d["what"], d["source"]) for d in doc["derived"]] == [
        ("big", "derived column 'big'", "amount > 500"),
        ("eur", "derived column 'eur'", "lower(cur)"),
    ]
    assert doc["derived"][1]["tree"]["function"] == "lower"
    assert doc["filter"] == {"what": "filter", "source": "big", "tree": {"node": "field", "name": "big"}}
    assert json.loads(RowLogic([("x", "1")], None).to_json())["filter"] is None


def test_an_int_too_long_to_print_is_named_by_its_size() -> None:
    logic = RowLogic([("p", "int(s) * int(s)")], None)
    with pytest.raises(RowLogicError) as failed:
        logic({"s": "9" * 4000})
    assert failed.value.reason == ("derived column 'p' \"int(s) * int(s)\" is a 26576-bit integer, outside the 64-bit range")
