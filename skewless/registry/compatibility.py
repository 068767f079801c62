"""Can a reader schema read data written with a writer schema? Apache Avro's own checker
(`avro.compatibility.ReaderWriterCompatibilityChecker`, the rules of "Schema Resolution" in
the specification) decides; this module only says its findings in the registry's words.

Avro's verdict on the whole record decides. Its checker merges the findings of one check into
unordered sets and loses the location of those under a writer union, so an incompatible
record's fields are then checked one by one, down nested records, to say which field each
finding is about: by its path ("amount", "address.zip", "tags[]", "attrs{}").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
    check_schema_names,
    lookup_writer_field,
)
from avro.errors import AvroException
from avro.schema import RecordSchema, Schema, parse

from skewless.errors import SpecError

PROMOTIONS = "allowed: int -> long -> float -> double, string <-> bytes"
MISSING_DEFAULT = "field added without a default: data written with the old schema has no value for it; give it a default"
_TYPE_MISMATCH = re.compile(r"reader type: (\S+) not compatible with writer type: (\S+)")


@dataclass(frozen=True)
class Incompatibility:
    path: str  # where in the record: "amount", "address.zip", "tags[]", "attrs{}"
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


def check_compatible(reader: Any, writer: Any) -> list[Incompatibility]:
    """Every reason `reader` cannot read data written with `writer`; empty when it can."""
    reader_schema, writer_schema = _parse(reader, "reader"), _parse(writer, "writer")
    verdict = ReaderWriterCompatibilityChecker().get_compatibility(reader_schema, writer_schema)
    if verdict.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    return _attribute(reader_schema, writer_schema, "", set()) or _findings(verdict, reader_schema, "")


def _attribute(reader: Schema, writer: Schema, path: str, seen: set[tuple[int, int]]) -> list[Incompatibility]:
    """Avro's findings, checked field by field down nested records so that each names its field."""
    if not isinstance(reader, RecordSchema) or not isinstance(writer, RecordSchema) or (id(reader), id(writer)) in seen:
        # A fresh checker each time: Avro memoizes results, findings included, by schema pair.
        return _findings(ReaderWriterCompatibilityChecker().get_compatibility(reader, writer), reader, path)
    seen.add((id(reader), id(writer)))
    problems = _findings(check_schema_names(reader, writer, ["/"]), reader, path)
    for field in reader.fields:
        where = f"{path}.{field.name}" if path else field.name
        written = lookup_writer_field(writer_schema=writer, reader_field=field)
        if written is None and not field.has_default:
            problems.append(Incompatibility(where, MISSING_DEFAULT))
        elif written is not None:
            problems.extend(_attribute(field.type, written.type, where, seen))
    return problems


def _parse(schema: Any, role: str) -> Schema:
    try:
        return parse(json.dumps(schema))
    except (AvroException, TypeError, ValueError) as exc:
        raise SpecError(f"the {role} schema is not an Avro schema: {exc}") from None


def _findings(result: SchemaCompatibilityResult, reader: Schema, path: str) -> list[Incompatibility]:
    """Avro's findings on `reader` (at `path`) as the registry says them, as one incompatibility."""
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    paths = sorted({_path(reader, location, path) for location in result.locations})
    kinds = list(dict.fromkeys(result.incompatibilities))
    reasons = [_reason(kind, message) for kind in kinds for message in sorted(result.messages) if _belongs(kind, message)]
    return [Incompatibility(", ".join(paths), "; ".join(reasons))]


def _belongs(kind: SchemaIncompatibilityType, message: str) -> bool:
    """Whether Avro's `message` is of `kind` (the result keeps kinds and messages apart)."""
    by_kind = {
        SchemaIncompatibilityType.type_mismatch: message.startswith("reader type:"),
        SchemaIncompatibilityType.missing_union_branch: message.startswith("reader union lacking"),
        SchemaIncompatibilityType.name_mismatch: message.startswith("expected: ") and "found" not in message,
        SchemaIncompatibilityType.fixed_size_mismatch: message.startswith("expected: ") and "found" in message,
        SchemaIncompatibilityType.missing_enum_symbols: message.startswith("{"),
        SchemaIncompatibilityType.reader_field_missing_default_value: message.isidentifier(),  # the field's name
    }
    return by_kind.get(kind, True)


def _reason(kind: SchemaIncompatibilityType, message: str) -> str:
    if kind is SchemaIncompatibilityType.type_mismatch:
        found = _TYPE_MISMATCH.match(message)
        if found:
            reader, writer = found.groups()
            if writer == "null":  # a null branch of a writer union
                return f"old data may hold a null here, which {reader} cannot read"
            return f"type changed from {writer} to {reader}, which Avro cannot promote ({PROMOTIONS})"
    if kind is SchemaIncompatibilityType.missing_union_branch:
        written = message.rsplit(" ", 1)[-1].lower()
        return f"old data may hold a {written} here, which no branch of the new union reads"
    if kind is SchemaIncompatibilityType.name_mismatch:
        old = message.removeprefix("expected: ")
        return f"renamed from {old}; add aliases: [{old!r}] to the new type"
    if kind is SchemaIncompatibilityType.fixed_size_mismatch:
        sizes = re.findall(r"\d+", message)
        return f"fixed size changed from {sizes[0]} to {sizes[1]}" if len(sizes) == 2 else f"fixed size changed ({message})"
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        removed = sorted(re.findall(r"'([^']*)'", message))
        return (
            f"enum symbols {removed} were removed, so old data holding them cannot be read; "
            "keep them or give the enum a default symbol"
        )
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return MISSING_DEFAULT
    return f"{kind.value}: {message}"


def _path(reader: Schema, location: str, path: str) -> str:
    """Avro's location (a JSON pointer into `reader`, which is at `path`: "/fields/2/type/items")
    as field names ("tags[]"); `path` itself where Avro did not keep the location. A number
    after a union is the writer's branch, not the reader's: the path stops there."""
    at = reader
    steps = [s for s in location.split("/") if s]
    i = 0
    while i < len(steps):
        step = steps[i]
        if step == "fields" and isinstance(at, RecordSchema) and i + 1 < len(steps):
            i += 1
            field = at.fields[int(steps[i])]
            path = f"{path}.{field.name}" if path else field.name
            at = field.type
        elif step == "items" and at.type == "array":
            path, at = f"{path}[]", at.items  # type: ignore[attr-defined]
        elif step == "values" and at.type == "map":
            path, at = f"{path}{{}}", at.values  # type: ignore[attr-defined]
        elif step != "type":
            break  # name, size, symbols, or a writer union's branch: about the type reached
        i += 1
    return path


__all__ = ["Incompatibility", "check_compatible"]
