"""Decode raw Kafka records once per topic, then run each view's row logic on the decoded rows,
both in the JVM: the job calls no Python per record.

Errors are values, not crashes: the main outputs carry rows, the side outputs carry dead
letters with the reason and the record's origin (view-specific ones also name the view).

- `decode_records` (one per topic, io.skewless.flink.DecodeRecordsFunction): Avro bytes -> a
  generic typed row of the newest schema's fields (`record_fields`), then the raw bytes and
  the origin. Apache Avro's Java reader decodes, resolving each record's writer schema to the
  newest one (io.skewless.flink.EventDecoder).
- `view_events` (one per topic, io.skewless.flink.ViewEventsFunction): generic row -> each
  view's event (`event_type`): key, event time, the view's numeric inputs, origin. Every
  view's key check, derived columns, filter (io.skewless.logic, the trees
  skewless.expressions parses) and allowed lateness happen here, in one operator, so a
  record makes at most one dead letter, naming every view that refused it.

tests/flink/test_view_events.py holds the row-logic stage to its contract record by record;
the decode stage is held to the producer's encoder (tests/flink/test_decode_producer.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError
from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import DataStream, OutputTag
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

from skewless.errors import SpecError
from skewless.expressions import BOOL, NUMBER, STRING, check_row_logic, row_logic_json
from skewless.spec import ViewSpec
from udfs.dead_letters import DEAD_LETTER_TYPE

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


def _column_type(avro: Any) -> str | None:
    """The row type of an Avro field type, or None when a row column cannot carry it."""
    if isinstance(avro, list):  # a union: only [null, T] (any order) is carried
        members = [m for m in avro if m != "null"]
        return _column_type(members[0]) if len(members) == 1 else None
    if isinstance(avro, dict):
        avro = avro.get("type")  # e.g. {"type": "long", "logicalType": "timestamp-millis"}
    return _AVRO_TYPES.get(avro) if isinstance(avro, str) else None


def record_fields(schema_texts: Sequence[str]) -> tuple[Field, ...]:
    """The decoded row's fields: every carriable field of the newest (last) schema, in its
    order. Older records are resolved to that schema, so its fields are all a row can hold."""
    fields = []
    for f in json.loads(schema_texts[-1]).get("fields", []):
        kind = _column_type(f["type"])
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


def build_jvm_stage(what: str, build: Callable[[], Any]) -> Any:
    """Call a JVM stage's factory; its IllegalArgumentException names the bad input: say that
    as a SpecError, without the Java trace."""
    try:
        return build()
    except Py4JJavaError as exc:
        if exc.java_exception.getClass().getName() == "java.lang.IllegalArgumentException":
            raise SpecError(f"{what}: {exc.java_exception.getMessage()}") from None
        raise


def decode_records(raw: DataStream, schema_texts: Sequence[str], fields: Sequence[Field], time_field: str) -> DataStream:
    """`raw` (value, topic, partition, offset, ...) through the JVM decode stage: the rows of
    `record_type(fields)`; its dead letters come from `dead_letters_of`."""
    jvm = get_gateway().jvm
    function = build_jvm_stage(
        "decode stage",
        lambda: jvm.io.skewless.flink.DecodeRecordsFunction.create(
            to_jarray(jvm.String, list(schema_texts)),
            to_jarray(jvm.String, [f.name for f in fields]),
            to_jarray(jvm.String, [f.type for f in fields]),
            time_field,
        ),
    )
    return DataStream(function.applyTo(raw._j_data_stream, record_type(fields).get_java_type_info()))


def view_label(spec: ViewSpec) -> str:
    """"name@version": how letters, side outputs and metrics name a view."""
    return f"{spec.name}@{spec.version}"


@dataclass(frozen=True)
class ViewStreams:
    """The row-logic stage of a topic: `stage` is the operator (name and uid it), and its main
    output, the stage's dead letters (at most one per record); `events` holds each view's
    events (`event_type(spec)`), by spec uid."""

    stage: DataStream
    events: dict[str, DataStream]


def view_events(decoded: DataStream, specs: Sequence[ViewSpec], fields: Sequence[Field]) -> ViewStreams:
    """`decoded` (rows of `record_type(fields)`) through one JVM operator that runs every view's
    row logic and allowed lateness (io.skewless.flink.ViewEventsFunction)."""
    jvm = get_gateway().jvm

    def build() -> Any:
        builder = jvm.io.skewless.flink.ViewEventsFunction.builder(
            to_jarray(jvm.String, [f.name for f in fields]), specs[0].event_time_field
        )
        for spec in specs:
            builder.view(
                view_label(spec),
                spec.source_key_field,
                row_logic_json(spec.derived, spec.filter),
                to_jarray(jvm.String, list(spec.input_columns)),
                spec.allowed_lateness_ms,
            )
        return builder.build()

    function = build_jvm_stage("row-logic stage", build)
    j_stage = function.applyTo(decoded._j_data_stream)
    events = {spec.uid: DataStream(function.eventsOf(j_stage, view_label(spec))) for spec in specs}
    return ViewStreams(DataStream(j_stage), events)


def dead_letters_of(stage: DataStream) -> DataStream:
    """The dead letters of the decode stage, taken in the JVM: `stage.get_side_output(DEAD_LETTERS)`
    yields the same rows but passes each through a Python identity map."""
    tag = get_gateway().jvm.io.skewless.flink.DeadLetters.tag()
    return DataStream(stage._j_data_stream.getSideOutput(tag))
