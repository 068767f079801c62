"""Entities (what features describe) and sources (where events come from), as definitions.

A Source names a Kafka topic, the Avro schema its producers write, the field holding
event time, how the entity's keys map onto the event's fields, and the row logic
(derived columns, then a filter) applied to every event before aggregation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import fastavro

from skewless.errors import SpecError
from skewless.expressions import BOOL, DOUBLE, LONG, STRING, ValueType

# Avro numbers as the expression checker types them.
_NUMERIC = {"int": LONG, "long": LONG, "float": DOUBLE, "double": DOUBLE}


@dataclass(frozen=True)
class Entity:
    """What features describe, e.g. a user; `keys` are the key column names of its rows."""

    name: str
    keys: tuple[str, ...] | str
    description: str = ""

    def __post_init__(self) -> None:
        keys = (self.keys,) if isinstance(self.keys, str) else tuple(self.keys)
        object.__setattr__(self, "keys", keys)
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(f"entity name {self.name!r} must be an identifier, e.g. 'user'")
        if not keys or not all(isinstance(k, str) and k.isidentifier() for k in keys):
            raise SpecError(f"entity {self.name}: keys {self.keys!r} must be one or more identifiers, e.g. 'user_id'")
        if len(set(keys)) != len(keys):
            raise SpecError(f"entity {self.name}: duplicate keys {list(keys)}")


@dataclass(frozen=True)
class AvroField:
    name: str
    avro: str  # readable Avro type, e.g. "double", "[null, string]", "enum Currency"
    type: ValueType  # as the expression checker sees it; None for bytes/records/arrays/maps
    nullable: bool
    base: str  # the non-null Avro type: "long", "string", "enum", "record"...; "union" if several


@dataclass(frozen=True)
class Source:
    """Events of one Avro schema on one topic.

    `schema` is a path to the .avsc file; a relative path is resolved against the current
    directory when the Source is created (the example repo builds paths from `__file__`).
    `keys` maps entity key -> event field; an entity key missing from it reads the
    field of the same name. `derived` maps new column -> expression, evaluated in order,
    each able to use the ones before it; `filter` then keeps the events where it is true.
    """

    name: str
    topic: str
    schema: Path | str
    event_time: str
    keys: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None
    filter: str | None = None
    derived: Mapping[str, str] | Sequence[tuple[str, str]] = field(default=())
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(f"source name {self.name!r} must be an identifier, e.g. 'transactions'")
        if not isinstance(self.topic, str) or not self.topic.strip():
            raise SpecError(f"source {self.name}: topic must be a non-empty string")
        object.__setattr__(self, "schema", Path(self.schema).resolve())
        # Stored as sorted/ordered tuples so sources compare and hash by value.
        object.__setattr__(self, "keys", tuple(sorted(dict(self.keys or {}).items())))
        derived = self.derived.items() if isinstance(self.derived, Mapping) else self.derived
        object.__setattr__(self, "derived", tuple((str(k), v) for k, v in derived))
        if self.filter is not None and not isinstance(self.filter, str):
            raise SpecError(f"source {self.name}: filter must be an expression string, got {self.filter!r}")

    @property
    def key_fields(self) -> dict[str, str]:
        return dict(self.keys or ())

    @cached_property
    def schema_text(self) -> str:
        try:
            return self.schema.read_text()  # type: ignore[union-attr]
        except OSError as exc:
            raise SpecError(f"source {self.name}: cannot read Avro schema {self.schema}: {exc.strerror}") from exc

    @cached_property
    def schema_json(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.schema_text)
            fastavro.parse_schema(raw)
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
            raise SpecError(f"source {self.name}: {self.schema} is not a valid Avro schema: {exc}") from exc
        if not isinstance(raw, dict) or raw.get("type") != "record":
            raise SpecError(f"source {self.name}: {self.schema} must define an Avro record")
        return raw

    @cached_property
    def fields(self) -> dict[str, AvroField]:
        parsed = fastavro.parse_schema(self.schema_json)
        named = parsed.get("__named_schemas", {})
        return {f["name"]: _describe(f["name"], f["type"], named) for f in parsed["fields"]}


def _describe(name: str, avro: Any, named: dict[str, Any]) -> AvroField:
    branches = avro if isinstance(avro, list) else [avro]
    nullable = "null" in branches
    kinds = [_kind(b, named) for b in branches if b != "null"]
    readable = "[" + ", ".join(_kind(b, named)[0] for b in branches) + "]" if isinstance(avro, list) else kinds[0][0]
    types = {t for _, t in kinds}
    bases = {k.split(" ")[0] for k, _ in kinds}
    return AvroField(
        name, readable, types.pop() if len(types) == 1 else None, nullable, bases.pop() if len(bases) == 1 else "union"
    )


def _kind(avro: Any, named: dict[str, Any]) -> tuple[str, ValueType]:
    if isinstance(avro, dict):
        if avro.get("type") == "enum":
            return f"enum {avro['name']}", STRING
        if avro.get("type") in ("record", "array", "map", "fixed"):
            return str(avro["type"]), None
        return _kind(avro["type"], named)
    if isinstance(avro, str) and avro in named:
        return _kind(named[avro], named)
    if avro in _NUMERIC:
        return avro, _NUMERIC[avro]
    if avro == "string":
        return avro, STRING
    if avro == "boolean":
        return avro, BOOL
    return str(avro), None
