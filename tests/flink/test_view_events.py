"""The JVM row-logic stage (io.skewless.flink.ViewEventsFunction) against its Python contract
(ViewLogic below, one per view), in a PyFlink mini-cluster job: every view's events in the
same order, the same records dropped by the filter, and one dead letter per refused record that
names every view refusing it, with each view's reason and code, the stage and the origin.

The row logic itself is held to docs/expressions.md case by case by the conformance table
(tests/conformance, run against both evaluators); here the stage around it: key checks (None, empty or ASCII-blank strings,
long keys as decimal strings), inputs that are not numbers, and derived columns as inputs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pyflink.common import Configuration, Row
from pyflink.datastream import StreamExecutionEnvironment

from jobs.operators import JvmJob, job_document
from jobs.rows import (
    REASON_CODE_HEADER,
    VIEWS_HEADER,
    Field,
    dead_letter,
    event_type,
    record_fields,
    record_type,
    view_label,
)
from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window
from skewless.errors import SpecError
from skewless.events.codec import DecodeError, is_missing_key, kind_of
from skewless.expressions import RowLogicError, compile_row_logic
from skewless.spec import ViewSpec

SCHEMA = {
    "type": "record",
    "name": "Reading",
    "namespace": "io.skewless.test",
    "fields": [
        {"name": "id", "type": ["null", "long"]},
        {"name": "label", "type": ["null", "string"]},
        {"name": "score", "type": ["null", "double"]},
        {"name": "flag", "type": ["null", "boolean"]},
        {"name": "count", "type": ["null", "long"]},
        {"name": "ts", "type": "long"},
    ],
}
TS = 1_700_000_000_000


def view(tmp_path: Path, key: str) -> ViewSpec:
    schema = tmp_path / "reading.avsc"
    schema.write_text(json.dumps(SCHEMA))
    source = Source(
        name="readings",
        topic="readings",
        schema=schema,
        event_time="ts",
        derived={"boosted": "score * count if flag else score", "ratio": "count / score"},
        filter="label != 'skip'",
    )
    return FeatureView(
        name=f"by_{key}",
        version=3,
        entity=Entity("thing", keys=key),
        source=source,
        aggregations=[
            Aggregation("boosted", "sum", windows=[Window("1h", hop="1h")]),
            Aggregation("count", "max", windows=[Window("1h", hop="1h")]),
            Aggregation("ratio", "avg", windows=[Window("1h", hop="1h")]),
        ],
        ttl="1d",
    ).compile()


class ViewLogic:
    """The oracle: the row-logic stage of one view on a decoded row's values (in `fields` order):
    (key, event time, inputs), None when the filter drops the record, DecodeError with the
    reason when it fails."""

    def __init__(self, spec: ViewSpec, fields: Sequence[Field]) -> None:
        self.spec = spec
        self.names = tuple(f.name for f in fields)
        self.row_logic: Callable[[dict[str, Any]], dict[str, Any] | None] = compile_row_logic(spec)

    def __call__(self, values: Sequence[Any]) -> tuple[str, int, list[float]] | None:
        spec = self.spec
        record = dict(zip(self.names, values))
        key = record.get(spec.source_key_field)
        if is_missing_key(key):
            raise DecodeError(f"missing entity key '{spec.source_key_field}'")
        row = self.row_logic(record)  # derived columns, then the filter; raises RowLogicError
        if row is None:
            return None
        inputs = []
        for column in spec.input_columns:
            v = row.get(column)
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise DecodeError(f"input column '{column}' is {kind_of(v)}, not a number")
            inputs.append(float(v))
        return str(key), row[spec.event_time_field], inputs


def random_values(rng: random.Random) -> list[Any]:
    """A decoded row: every value of its column's type, or None (blank, non-ASCII and astral
    labels; signed zeros, huge and tiny scores; counts past 2**53)."""
    return [
        rng.choice([None, 0, -7, 2**62, 12]),
        rng.choice([None, "skip", "keep", "", " ", "\u00a0", "\u3000x", "\x1c", "e\u0301", "\U0001f600"]),
        rng.choice([None, 0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, 3.0]),
        rng.choice([None, True, False]),
        rng.choice([None, 0, 1, -3, 2**40, 2**62]),
        TS + rng.randrange(3_600_000),
    ]


def reason_code(exc: DecodeError) -> str:
    """The code the JVM stage gives each of ViewLogic's refusals."""
    if isinstance(exc, RowLogicError):
        return "row_logic"
    return "missing_key" if exc.reason.startswith("missing entity key") else "not_a_number"


def expected(specs: list[ViewSpec], fields: list[Field], rows: list[list[Any]]) -> tuple[dict[str, list[tuple]], list[tuple]]:
    """Each view's events, by uid, and the stage's letters: one per record some view refused."""
    logics = [ViewLogic(spec, fields) for spec in specs]
    events: dict[str, list[tuple]] = {spec.uid: [] for spec in specs}
    letters = []
    for offset, values in enumerate(rows):
        refusals = []
        for spec, logic in zip(specs, logics):
            try:
                out = logic(values)
            except DecodeError as exc:
                refusals.append((view_label(spec), reason_code(exc), exc.reason))
                continue
            if out is not None:
                key, event_time, inputs = out
                events[spec.uid].append((key, event_time, *inputs, "readings", 0, offset))
        if refusals:
            reason = "; ".join(f"{label}: {why}" for label, _, why in refusals)
            letter = dead_letter(b"v%d" % offset, reason, "logic", "readings", 0, offset)
            letter[1][REASON_CODE_HEADER] = ",".join(code for _, code, _ in refusals).encode()
            letter[1][VIEWS_HEADER] = ",".join(label for label, _, _ in refusals).encode()
            letters.append(letter_key(letter))
    return events, letters


def letter_key(letter: Row) -> tuple:
    return bytes(letter[0]), tuple(sorted((k, bytes(v)) for k, v in letter[1].items()))


@pytest.mark.parametrize("keys", [("id",), ("label",), ("id", "label")])
def test_jvm_stage_equals_the_python_contract(jar: str, tmp_path: Path, keys: tuple[str, ...]) -> None:
    from skewless.devstack import flink_home

    flink_home.apply_to_environ()
    specs = [view(tmp_path, key) for key in keys]
    fields = list(record_fields([json.dumps(SCHEMA)]))
    rng = random.Random(sum(hash(k) for k in keys) & 0xFFFF)
    rows = [random_values(rng) for _ in range(600)]
    want_events, want_letters = expected(specs, fields, rows)
    assert all(want_events.values()) and want_letters

    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)

    def stage():
        decoded = env.from_collection(
            [Row(*values, b"v%d" % offset, "readings", 0, offset) for offset, values in enumerate(rows)],
            type_info=record_type(fields),
        )
        return JvmJob(job_document([json.dumps(SCHEMA)], specs)).view_events(decoded)

    for spec in specs:
        events = stage().events[spec.uid]
        assert events._j_data_stream.getType().equals(event_type(spec).get_java_type_info())
        got_events = [tuple(r) for r in events.execute_and_collect()]
        assert got_events == want_events[spec.uid]  # floats compare exactly: the same doubles

    got_letters = sorted(letter_key(r) for r in stage().stage.execute_and_collect())
    assert got_letters == sorted(want_letters)
    if len(specs) > 1:
        # A record both views refuse is one letter, naming both.
        both = ",".join(view_label(s) for s in specs).encode()
        assert any(dict(headers)[VIEWS_HEADER] == both for _, headers in got_letters)
        offsets = [dict(headers)["skewless.source.offset"] for _, headers in got_letters]
        assert len(offsets) == len(set(offsets))


def test_a_view_the_decoded_row_cannot_feed_is_refused_at_build_time(jar: str, tmp_path: Path) -> None:
    from skewless.devstack import flink_home

    flink_home.apply_to_environ()
    spec = view(tmp_path, "id")
    narrow = {**SCHEMA, "fields": [f for f in SCHEMA["fields"] if f["name"] in ("label", "ts")]}
    assert record_fields([json.dumps(narrow)]) == (Field("label", "STRING"), Field("ts", "LONG"))
    with pytest.raises(SpecError, match="view by_id@3: .*id"):
        JvmJob(job_document([json.dumps(narrow)], [spec]))
