"""Decode raw Kafka records once per topic, then run each view's row logic on the decoded rows.

Errors are values, not crashes: the main outputs carry rows, the side outputs carry dead
letters with the reason and the record's origin (view-specific ones also name the view).

- `DecodeRecords` (one per topic): Avro bytes -> a generic typed row of the writer
  schemas' fields (`record_fields`), then the raw bytes and the origin.
- `ViewEvents` (one per view): generic row -> the view's event (`event_type`): key, event
  time, the view's numeric inputs, origin. Key check, derived columns, filter happen here.
- `decode_records`: `DecodeRecords` in the JVM (io.skewless.flink.DecodeRecordsFunction): the
  same rows and dead letters without a Python call per record (tests/flink/test_decode_parity.py
  holds the two to each other).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from py4j.protocol import Py4JJavaError
from pyflink.common import Row
from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import DataStream, OutputTag, ProcessFunction
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

from skewless.errors import SpecError
from skewless.events.codec import DecodeError, EventCodec
from skewless.expressions import BOOL, NUMBER, STRING, check_row_logic, compile_row_logic
from skewless.spec import ViewSpec
from udfs.dead_letters import DEAD_LETTER_TYPE, dead_letter

DEAD_LETTERS = OutputTag("dead-letters", DEAD_LETTER_TYPE)
VIEW_HEADER = "skewless.view"
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
    """The decoded row's fields: every carriable field of the writer schemas, newest schema's
    order first; a field's type is the newest schema's (older records that do not fit it
    are dead-lettered)."""
    fields: dict[str, Field] = {}
    for text in reversed(schema_texts):
        for f in json.loads(text).get("fields", []):
            kind = _column_type(f["type"])
            if kind is not None and f["name"] not in fields:
                fields[f["name"]] = Field(f["name"], kind)
    return tuple(fields.values())


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


def _fits(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == "STRING":
        return isinstance(value, str)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "LONG" else isinstance(value, (int, float))


def event_type(spec: ViewSpec) -> TypeInformation:
    """A view's event: key, event time, the view's numeric inputs, then the record's origin."""
    names = ["key", "event_time", *spec.input_columns, "topic", "partition", "offset"]
    types = [Types.STRING(), Types.LONG(), *[Types.DOUBLE() for _ in spec.input_columns]]
    types += [Types.STRING(), Types.INT(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


def view_dead_letter(spec: ViewSpec, value: bytes, reason: str, stage: str, topic: str, partition: int, offset: int) -> Row:
    """A dead letter of one view's stage: the common headers plus the view's name@version."""
    letter = dead_letter(value, reason, stage, topic, partition, offset)
    letter[1][VIEW_HEADER] = f"{spec.name}@{spec.version}".encode()
    return letter


class DecodeRecords(ProcessFunction):
    """Avro single-object bytes -> the generic row of `fields` (see `record_type`)."""

    def __init__(self, schema_texts: Sequence[str], fields: Sequence[Field], time_field: str) -> None:
        self.schema_texts = list(schema_texts)
        self.fields = tuple(fields)
        self.time_field = time_field
        self.codec: EventCodec | None = None
        self.dead = None

    def open(self, runtime_context: Any) -> None:
        # Schemas travel inside the function; materialize them for the codec on the worker.
        folder = Path(tempfile.mkdtemp(prefix="skewless-schemas-"))
        paths = []
        for i, text in enumerate(self.schema_texts):
            paths.append(folder / f"schema{i}.avsc")
            paths[-1].write_text(text)
        # The entity key is each view's to check (views of a topic key by different fields);
        # the codec's key check is pointed at the event time, which it checks anyway.
        self.codec = EventCodec(paths, key_field=self.time_field, time_field=self.time_field)
        self.dead = runtime_context.get_metrics_group().counter("dead_letters_decode")

    def process_element(self, value: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        raw, topic, partition, offset = value[0], value[1], value[2], value[3]
        try:
            record = self.codec.decode(raw)  # type: ignore[union-attr]
            columns = [record.get(f.name) for f in self.fields]
            for f, v in zip(self.fields, columns):
                if not _fits(v, f.type):
                    raise DecodeError(f"field {f.name!r} is {v!r}, which its {f.type} column (newest schema) cannot carry")
        except DecodeError as exc:
            self.dead.inc()  # type: ignore[union-attr]
            yield DEAD_LETTERS, dead_letter(raw or b"", exc.reason, "decode", topic, partition, offset)
            return
        yield Row(*columns, raw, topic, partition, offset)


def decode_records(raw: DataStream, schema_texts: Sequence[str], fields: Sequence[Field], time_field: str) -> DataStream:
    """`raw` (value, topic, partition, offset, ...) through the JVM decode stage: the rows of
    `record_type(fields)`, as `DecodeRecords` yields them; its dead letters are the side output
    DEAD_LETTERS (`decode_dead_letters` takes them without a Python hop)."""
    jvm = get_gateway().jvm
    try:
        function = jvm.io.skewless.flink.DecodeRecordsFunction.create(
            to_jarray(jvm.String, list(schema_texts)),
            to_jarray(jvm.String, [f.name for f in fields]),
            to_jarray(jvm.String, [f.type for f in fields]),
            time_field,
        )
    except Py4JJavaError as exc:  # the factory names the bad input; say it without the Java trace
        if exc.java_exception.getClass().getName() == "java.lang.IllegalArgumentException":
            raise SpecError(f"decode stage: {exc.java_exception.getMessage()}") from None
        raise
    return DataStream(function.applyTo(raw._j_data_stream, record_type(fields).get_java_type_info()))


def decode_dead_letters(decoded: DataStream) -> DataStream:
    """The dead letters of `decode_records`, taken in the JVM. `decoded.get_side_output(DEAD_LETTERS)`
    yields the same rows but passes each through a Python identity map."""
    tag = get_gateway().jvm.io.skewless.flink.DecodeRecordsFunction.deadLettersTag()
    return DataStream(decoded._j_data_stream.getSideOutput(tag))


class ViewEvents(ProcessFunction):
    """One view's row logic on decoded rows: key check, derived columns, filter, numeric inputs."""

    def __init__(self, spec: ViewSpec, fields: Sequence[Field]) -> None:
        self.spec = spec
        self.names = tuple(f.name for f in fields)
        self.row_logic = compile_row_logic(spec)
        self.dead = None
        self.filtered = None

    def open(self, runtime_context: Any) -> None:
        metrics = runtime_context.get_metrics_group()
        self.dead = metrics.counter("dead_letters_logic")
        self.filtered = metrics.counter("events_filtered_out")

    def process_element(self, value: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        spec = self.spec
        raw, topic, partition, offset = value[-4], value[-3], value[-2], value[-1]
        try:
            record = dict(zip(self.names, value))  # zip stops before the trailer
            key = record.get(spec.source_key_field)
            if key is None or (isinstance(key, str) and not key.strip()):
                raise DecodeError(f"missing entity key {spec.source_key_field!r}")
            # Derived columns, then the view's filter: the same code the test oracle runs.
            record = self.row_logic(record)  # raises RowLogicError, a DecodeError
            if record is None:
                self.filtered.inc()  # type: ignore[union-attr]
                return
            inputs = []
            for column in spec.input_columns:
                v = record.get(column)
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise DecodeError(f"input column {column!r} is {v!r}, not a number")
                inputs.append(float(v))
        except DecodeError as exc:
            self.dead.inc()  # type: ignore[union-attr]
            yield DEAD_LETTERS, view_dead_letter(spec, raw or b"", exc.reason, "logic", topic, partition, offset)
            return
        yield Row(str(key), record[spec.event_time_field], *inputs, topic, partition, offset)
