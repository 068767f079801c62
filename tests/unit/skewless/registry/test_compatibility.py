"""Schema compatibility as Apache Avro's checker decides it, said in the registry's words: a
matrix of changes, and a property checked against fastavro, the producer's codec, itself."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skewless.errors import SpecError
from skewless.registry.compatibility import check_compatible


def record(*fields: dict[str, Any], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def f(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": list(symbols), **extra}


COMPATIBLE = {
    "identical": (record(f("a", "int")), record(f("a", "int"))),
    "int -> long": (record(f("a", "long")), record(f("a", "int"))),
    "int -> double": (record(f("a", "double")), record(f("a", "int"))),
    "long -> float": (record(f("a", "float")), record(f("a", "long"))),
    "float -> double": (record(f("a", "double")), record(f("a", "float"))),
    "string -> bytes": (record(f("a", "bytes")), record(f("a", "string"))),
    "bytes -> string": (record(f("a", "string")), record(f("a", "bytes"))),
    "field removed": (record(f("a", "int")), record(f("a", "int"), f("b", "string"))),
    "field added with default": (record(f("a", "int"), f("b", "string", default="x")), record(f("a", "int"))),
    "field renamed with alias": (record(f("b", "int", aliases=["a"])), record(f("a", "int"))),
    "record renamed with alias": (record(f("a", "int"), name="S", aliases=["R"]), record(f("a", "int"))),
    "namespace changed": (record(f("a", "int"), namespace="x.y"), record(f("a", "int"), namespace="p.q")),
    "type widened to a union": (record(f("a", ["null", "int"])), record(f("a", "int"))),
    "union gains a branch": (record(f("a", ["null", "int", "string"])), record(f("a", ["null", "int"]))),
    "union branch promoted": (record(f("a", ["null", "long"])), record(f("a", ["null", "int"]))),
    "enum symbol added": (record(f("e", enum("A", "B", "C"))), record(f("e", enum("A", "B")))),
    "enum symbol removed with default": (record(f("e", enum("A", default="A"))), record(f("e", enum("A", "B")))),
    "array items promoted": (record(f("a", {"type": "array", "items": "double"})), record(f("a", {"type": "array", "items": "int"}))),
    "map values promoted": (record(f("a", {"type": "map", "values": "long"})), record(f("a", {"type": "map", "values": "int"}))),
    "nested record gains defaulted field": (
        record(f("n", record(f("x", "int"), f("y", "int", default=0), name="N"))),
        record(f("n", record(f("x", "int"), name="N"))),
    ),
    "named type by reference": (
        record(f("n", record(f("x", "long"), name="N")), f("m", "N")),
        record(f("n", record(f("x", "int"), name="N")), f("m", "N")),
    ),
    "recursive type": (
        record(f("v", "long"), f("next", ["null", "R"], default=None)),
        record(f("v", "int"), f("next", ["null", "R"], default=None)),
    ),
    "logical type ignored": (record(f("t", {"type": "long", "logicalType": "timestamp-millis"})), record(f("t", "long"))),
    "fixed same size": (record(f("x", {"type": "fixed", "name": "F", "size": 4})), record(f("x", {"type": "fixed", "name": "F", "size": 4}))),
}

INCOMPATIBLE = {
    "field added without default": (
        record(f("a", "int"), f("b", "string")), record(f("a", "int")), "b: field added without a default",
    ),
    "long -> int": (record(f("a", "int")), record(f("a", "long")), "a: type changed from long to int, which Avro cannot promote"),
    "double -> float": (record(f("a", "float")), record(f("a", "double")), "a: type changed from double to float"),
    "string -> int": (record(f("a", "int")), record(f("a", "string")), "a: type changed from string to int"),
    "union narrowed": (
        record(f("a", "int")), record(f("a", ["null", "int"])), "a: old data may hold a null here, which int cannot read",
    ),
    "union loses a branch": (
        record(f("a", ["null", "int"])), record(f("a", ["null", "int", "string"])),
        "a: old data may hold a string here, which no branch of the new union reads",
    ),
    "enum symbol removed": (
        record(f("e", enum("A"))), record(f("e", enum("A", "B"))), "e: enum symbols ['B'] were removed",
    ),
    "record renamed": (
        record(f("n", record(f("x", "int"), name="M"))), record(f("n", record(f("x", "int"), name="N"))),
        "n: renamed from N; add aliases: ['N']",
    ),
    "fixed resized": (
        record(f("x", {"type": "fixed", "name": "F", "size": 8})), record(f("x", {"type": "fixed", "name": "F", "size": 4})),
        "x: fixed size changed from 4 to 8",
    ),
    "nested field added without default": (
        record(f("n", record(f("x", "int"), f("y", "int"), name="N"))), record(f("n", record(f("x", "int"), name="N"))),
        "n.y: field added without a default",
    ),
    "array items narrowed": (
        record(f("a", {"type": "array", "items": "int"})), record(f("a", {"type": "array", "items": "long"})),
        "a[]: type changed from long to int",
    ),
    "map values changed": (
        record(f("a", {"type": "map", "values": "string"})), record(f("a", {"type": "map", "values": "long"})),
        "a{}: type changed from long to string",
    ),
    "record became a string": (record(f("n", "string")), record(f("n", record(f("x", "int"), name="N"))), "n: type changed from record to string"),
    # Stricter than the specification: Avro's Python checker compares a reader alias with the
    # writer's full name, so an alias relative to the namespace does not match.
    "alias relative to the namespace": (
        record(f("a", "int"), name="S", namespace="p.q", aliases=["R"]), record(f("a", "int"), namespace="p.q"),
        "<root>: renamed from p.q.R; add aliases: ['p.q.R']",
    ),
    # Avro says which union branch old data may hold, not what inside it changed.
    "record in a union changed": (
        record(f("n", ["null", record(f("x", "long"), name="N")])), record(f("n", ["null", record(f("x", "string"), name="N")])),
        "n: old data may hold a record here, which no branch of the new union reads",
    ),
}


@pytest.mark.parametrize("case", sorted(COMPATIBLE))
def test_compatible_changes(case: str) -> None:
    reader, writer = COMPATIBLE[case]
    assert check_compatible(reader, writer) == []
    fastavro.parse_schema(reader), fastavro.parse_schema(writer)


@pytest.mark.parametrize("case", sorted(INCOMPATIBLE))
def test_incompatible_changes_name_the_field_and_reason(case: str) -> None:
    reader, writer, message = INCOMPATIBLE[case]
    problems = [str(p) for p in check_compatible(reader, writer)]
    assert any(message in p for p in problems), problems


def test_every_problem_is_listed() -> None:
    reader = record(f("a", "int"), f("b", "string"), f("c", "int"))
    writer = record(f("a", "long"), f("c", "string"))
    assert [p.path for p in check_compatible(reader, writer)] == ["a", "b", "c"]


def test_each_problem_of_a_nested_record_names_its_field() -> None:
    reader = record(f("n", record(f("x", "int"), f("y", "int"), name="N")))
    writer = record(f("n", record(f("x", "long"), name="N")))
    assert [str(p) for p in check_compatible(reader, writer)] == [
        "n.x: type changed from long to int, which Avro cannot promote (allowed: int -> long -> float -> double, string <-> bytes)",
        "n.y: field added without a default: data written with the old schema has no value for it; give it a default",
    ]


def test_a_schema_avro_cannot_parse_is_a_one_line_error() -> None:
    with pytest.raises(SpecError, match="the writer schema is not an Avro schema"):
        check_compatible(record(f("a", "int")), record(f("a", "no.such.Type")))


# ---- property: whenever the checker says "compatible", fastavro reads the writer's data with the reader.

PRIMS = ["null", "boolean", "int", "long", "float", "double", "string", "bytes"]
DEFAULTS = {"null": None, "boolean": False, "int": 0, "long": 0, "float": 0.0, "double": 0.0, "string": "", "bytes": ""}

field_types = st.one_of(
    st.sampled_from(PRIMS[1:]),
    st.lists(st.sampled_from(PRIMS), min_size=2, max_size=3, unique=True),
    st.sampled_from(PRIMS[1:]).map(lambda t: {"type": "array", "items": t}),
    st.sampled_from(PRIMS[1:]).map(lambda t: {"type": "map", "values": t}),
    st.lists(st.sampled_from("ABC"), min_size=1, max_size=3, unique=True).map(lambda s: {"type": "enum", "name": "E", "symbols": s}),
)


def _field(name: str, type_: Any, with_default: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "type": type_}
    first = type_[0] if isinstance(type_, list) else type_
    if with_default and isinstance(first, str):
        out["default"] = DEFAULTS[first]
    return out


@st.composite
def schema_pairs(draw: st.DrawFn) -> tuple[dict, dict]:
    names = draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4, unique=True))
    writer = record(*[_field(n, draw(field_types), False) for n in names])
    reader_fields = []
    for field in writer["fields"]:
        action = draw(st.sampled_from(["keep", "keep", "drop", "retype"]))
        if action == "keep":
            reader_fields.append(field)
        elif action == "retype":
            reader_fields.append(_field(field["name"], draw(field_types), draw(st.booleans())))
    for extra in draw(st.lists(st.sampled_from("vwxyz"), max_size=2, unique=True)):
        reader_fields.append(_field(extra, draw(field_types), draw(st.booleans())))
    return record(*reader_fields), writer


PRIMITIVE_VALUES = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=3),
    # bytes may be read as a string (a legal promotion), which only works for UTF-8 data.
    "bytes": st.text(max_size=3).map(str.encode),
}


def _value(schema: Any, draw: st.DrawFn) -> Any:
    if isinstance(schema, list):
        return _value(draw(st.sampled_from(schema)), draw)
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "array":
            return [_value(schema["items"], draw) for _ in range(draw(st.integers(0, 2)))]
        if kind == "map":
            return {k: _value(schema["values"], draw) for k in draw(st.lists(st.sampled_from("pq"), max_size=2, unique=True))}
        if kind == "enum":
            return draw(st.sampled_from(schema["symbols"]))
        return {fl["name"]: _value(fl["type"], draw) for fl in schema["fields"]}
    return draw(PRIMITIVE_VALUES[schema])


@given(pair=schema_pairs(), data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_compatible_means_fastavro_can_read_old_data(pair: tuple[dict, dict], data: st.DataObject) -> None:
    reader, writer = pair
    try:
        parsed_reader, parsed_writer = fastavro.parse_schema(reader), fastavro.parse_schema(writer)
    except Exception:  # an invalid default for the generated type: not a schema at all
        return
    if check_compatible(reader, writer):
        return
    datum = _value(writer, data.draw)
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed_writer, datum)
    buffer.seek(0)
    fastavro.schemaless_reader(buffer, parsed_writer, parsed_reader)
