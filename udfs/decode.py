"""Decode raw Kafka records into typed events; anything undecodable becomes a dead letter.

Errors are values, not crashes: the main output carries events, the side output carries
dead letters with the reason and the record's origin.
"""

from __future__ import annotations

from typing import Any, Iterator

from pyflink.common import Row
from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import OutputTag, ProcessFunction

from skewless.events.codec import DecodeError, EventCodec
from skewless.expressions import compile_row_logic
from skewless.spec import ViewSpec
from udfs.dead_letters import DEAD_LETTER_TYPE, dead_letter

DEAD_LETTERS = OutputTag("dead-letters", DEAD_LETTER_TYPE)


def event_type(spec: ViewSpec) -> TypeInformation:
    """Decoded event: key, event time, the view's numeric inputs, then the record's origin."""
    names = ["key", "event_time", *spec.input_columns, "topic", "partition", "offset"]
    types = [Types.STRING(), Types.LONG(), *[Types.DOUBLE() for _ in spec.input_columns]]
    types += [Types.STRING(), Types.INT(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


class DecodeEvents(ProcessFunction):
    def __init__(self, spec: ViewSpec, schema_texts: list[str]) -> None:
        self.spec = spec
        self.schema_texts = schema_texts
        self.codec: EventCodec | None = None
        self.row_logic = compile_row_logic(spec)
        self.dead = None
        self.filtered = None

    def open(self, runtime_context: Any) -> None:
        import tempfile
        from pathlib import Path

        # Schemas travel inside the function; materialize them for the codec on the worker.
        folder = Path(tempfile.mkdtemp(prefix="skewless-schemas-"))
        paths = []
        for i, text in enumerate(self.schema_texts):
            path = folder / f"schema{i}.avsc"
            path.write_text(text)
            paths.append(path)
        self.codec = EventCodec(paths, key_field=self.spec.source_key_field, time_field=self.spec.event_time_field)
        metrics = runtime_context.get_metrics_group()
        self.dead = metrics.counter("dead_letters_decode")
        self.filtered = metrics.counter("events_filtered_out")

    def process_element(self, value: Row, ctx: ProcessFunction.Context) -> Iterator[Any]:
        raw, topic, partition, offset = value[0], value[1], value[2], value[3]
        try:
            decoded = self.codec.decode(raw)  # type: ignore[union-attr]
            # Derived columns, then the view's filter: the same code the test oracle runs.
            record = self.row_logic(decoded)  # raises RowLogicError, a DecodeError
            if record is None:
                self.filtered.inc()  # type: ignore[union-attr]
                return
            inputs = []
            for column in self.spec.input_columns:
                v = record.get(column)
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise DecodeError(f"input column {column!r} is {v!r}, not a number")
                inputs.append(float(v))
        except DecodeError as exc:
            self.dead.inc()  # type: ignore[union-attr]
            yield DEAD_LETTERS, dead_letter(raw or b"", exc.reason, "decode", topic, partition, offset)
            return
        key = str(record[self.spec.source_key_field])
        yield Row(key, record[self.spec.event_time_field], *inputs, topic, partition, offset)
