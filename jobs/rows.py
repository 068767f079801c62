"""The rows between the job's JVM operators, as PyFlink types.

Every operator runs in the JVM, built from the job spec (jobs.operators); these are the types
of the streams between them, computed from the compiled specs:

- `record_type(record_fields(schemas))`: a decoded record, every carriable field of the newest
  schema, then the raw bytes and the origin (`TRAILER`);
- `event_type(spec)`: one view's event after its row logic: key, event time, the view's numeric
  inputs, origin;
- `update_type(spec)`: one view's update: key, one value per feature (typed by the operation
  catalogue), valid_from, written_at, version;
- `DEAD_LETTER_TYPE`: a dead letter, the original bytes plus why and where from as Kafka headers.

tests/flink/test_view_events.py holds the row-logic stage to its contract record by record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyflink.common import Row
from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import OutputTag

from skewless.errors import SpecError
from skewless.expressions import BOOL, NUMBER, STRING, check_row_logic
from skewless.spec import ViewSpec

DEAD_LETTER_TYPE = Types.ROW_NAMED(
    ["value", "headers"],
    [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.MAP(Types.STRING(), Types.PRIMITIVE_ARRAY(Types.BYTE()))],
)


def dead_letter(value: bytes, reason: str, stage: str, topic: str, partition: int, offset: int) -> Row:
    headers = {
        "skewless.reason": reason.encode(),
        "skewless.stage": stage.encode(),
        "skewless.source.topic": topic.encode(),
        "skewless.source.partition": str(partition).encode(),
        "skewless.source.offset": str(offset).encode(),
    }
    return Row(value, headers)


DEAD_LETTERS = OutputTag("dead-letters", DEAD_LETTER_TYPE)
# Headers of the row-logic stage's letters (io.skewless.flink.DeadLetters): the views that
# refused the record ("a@1,b@2"), and one short code per view, in that order ("row_logic,late").
VIEWS_HEADER = "skewless.views"
REASON_CODE_HEADER = "skewless.reason-code"
# Columns after the record's fields in a decoded row: the original bytes, then the origin.
TRAILER = ("__value", "__topic", "__partition", "__offset")
# Avro primitive -> row column type. Other Avro types are left out of the row.
_AVRO_TYPES = {"string": "STRING", "long": "LONG", "int": "LONG", "double": "DOUBLE", "float": "DOUBLE", "boolean": "BOOLEAN"}
_FLINK_TYPES = {"STRING": Types.STRING(), "LONG": Types.LONG(), "DOUBLE": Types.DOUBLE(), "BOOLEAN": Types.BOOLEAN()}
_EXPR_TYPES = {"STRING": STRING, "LONG": NUMBER, "DOUBLE": NUMBER, "BOOLEAN": BOOL}


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # STRING, LONG, DOUBLE or BOOLEAN


def column_type(avro: Any) -> str | None:
    """The row type of an Avro field type, or None when a row column cannot carry it."""
    if isinstance(avro, list):  # a union: only [null, T] (any order) is carried
        members = [m for m in avro if m != "null"]
        return column_type(members[0]) if len(members) == 1 else None
    if isinstance(avro, dict):
        avro = avro.get("type")  # e.g. {"type": "long", "logicalType": "timestamp-millis"}
    return _AVRO_TYPES.get(avro) if isinstance(avro, str) else None


def record_fields(schema_texts: Sequence[str]) -> tuple[Field, ...]:
    """The decoded row's fields: every carriable field of the newest (last) schema, in its
    order. Older records are resolved to that schema, so its fields are all a row can hold."""
    fields = []
    for f in json.loads(schema_texts[-1]).get("fields", []):
        kind = column_type(f["type"])
        if kind is not None:
            fields.append(Field(f["name"], kind))
    return tuple(fields)


def record_type(fields: Sequence[Field]) -> TypeInformation:
    names = [f.name for f in fields] + list(TRAILER)
    types = [_FLINK_TYPES[f.type] for f in fields]
    types += [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.STRING(), Types.INT(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


def check_view(spec: ViewSpec, fields: Sequence[Field]) -> None:
    """Fail at build time, naming the problem, when the decoded row cannot feed `spec`."""
    columns = {f.name: _EXPR_TYPES[f.type] for f in fields}
    for name in (spec.source_key_field, spec.event_time_field):
        if name not in columns:
            raise SpecError(f"view {spec.name}: field {name!r} is not a string/number/boolean field of the source schema")
    known = check_row_logic(spec.derived, spec.filter, columns)
    missing = [c for c in spec.input_columns if c not in known]
    if missing:
        raise SpecError(f"view {spec.name}: input columns {missing} are neither source fields nor derived columns")


def event_type(spec: ViewSpec) -> TypeInformation:
    """A view's event: key, event time, the view's numeric inputs, then the record's origin."""
    names = ["key", "event_time", *spec.input_columns, "topic", "partition", "offset"]
    types = [Types.STRING(), Types.LONG(), *[Types.DOUBLE() for _ in spec.input_columns]]
    types += [Types.STRING(), Types.INT(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


# The JVM operator emits its too-late events under this tag id (side outputs match by id).
LATE_EVENTS = OutputTag("late-events", DEAD_LETTER_TYPE)


def flink_type(value_type: str) -> TypeInformation:
    return {"long": Types.LONG(), "double": Types.DOUBLE(), "list<double>": Types.LIST(Types.DOUBLE())}[value_type]


def update_type(spec: ViewSpec) -> TypeInformation:
    names = [spec.entity_key, *spec.feature_names, "valid_from", "written_at", "version"]
    types = [Types.STRING()]
    types += [flink_type(f.value_type) for f in spec.features]
    types += [Types.LONG(), Types.LONG(), Types.LONG()]
    return Types.ROW_NAMED(names, types)



def view_label(spec: ViewSpec) -> str:
    """"name@version": how letters, side outputs and metrics name a view."""
    return f"{spec.name}@{spec.version}"


