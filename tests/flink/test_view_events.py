"""The JVM row-logic stage (io.skewless.flink.ViewEventsFunction) against its Python contract
(udfs.decode.ViewLogic), in a PyFlink mini-cluster job: the same events in the same order, the
same records dropped by the filter, the same dead letters (reason, stage, origin, view).

The row logic itself is held to Python expression by expression in test_row_logic_parity.py;
here the stage around it: key checks (None, blank by Python's str.strip, long
keys as Python's str() prints them), inputs that are not numbers, and derived columns as inputs.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from pyflink.common import Configuration, Row, Types
from pyflink.datastream import StreamExecutionEnvironment

from skewless.dsl import Aggregation, Entity, FeatureView, Source, Window
from skewless.errors import SpecError
from skewless.events.codec import DecodeError
from skewless.spec import ViewSpec
from udfs.dead_letters import dead_letter
from udfs.decode import VIEW_HEADER, Field, ViewLogic, dead_letters_of, record_fields, record_type, view_events

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


def expected(logic: ViewLogic, spec: ViewSpec, rows: list[list[Any]]) -> tuple[list[tuple], list[tuple]]:
    events, letters = [], []
    for offset, values in enumerate(rows):
        try:
            out = logic(values)
        except DecodeError as exc:
            letter = dead_letter(b"v%d" % offset, exc.reason, "logic", "readings", 0, offset)
            letter[1][VIEW_HEADER] = f"{spec.name}@{spec.version}".encode()
            letters.append(letter_key(letter))
            continue
        if out is not None:
            key, event_time, inputs = out
            events.append((key, event_time, *inputs, "readings", 0, offset))
    return events, letters


def letter_key(letter: Row) -> tuple:
    return bytes(letter[0]), tuple(sorted((k, bytes(v)) for k, v in letter[1].items()))


@pytest.mark.parametrize("key", ["id", "label"])
def test_jvm_stage_equals_the_python_contract(jar: str, tmp_path: Path, key: str) -> None:
    from skewless.stack import flink_home

    flink_home.apply_to_environ()
    spec = view(tmp_path, key)
    fields = list(record_fields([json.dumps(SCHEMA)]))
    rng = random.Random(hash(key) & 0xFFFF)
    rows = [random_values(rng) for _ in range(600)]
    want_events, want_letters = expected(ViewLogic(spec, fields), spec, rows)
    assert want_events and want_letters

    conf = Configuration()
    conf.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    env.set_parallelism(1)
    decoded = env.from_collection(
        [Row(*values, b"v%d" % offset, "readings", 0, offset) for offset, values in enumerate(rows)],
        type_info=record_type(fields),
    )
    events = view_events(decoded, spec, fields)
    got_events = [tuple(r) for r in events.execute_and_collect()]
    assert got_events == want_events  # floats compare exactly: the same doubles

    letters = dead_letters_of(view_events(env.from_collection(
        [Row(*values, b"v%d" % offset, "readings", 0, offset) for offset, values in enumerate(rows)],
        type_info=record_type(fields),
    ), spec, fields))
    assert sorted(letter_key(r) for r in letters.execute_and_collect()) == sorted(want_letters)


def test_a_view_the_decoded_row_cannot_feed_is_refused_at_build_time(jar: str, tmp_path: Path) -> None:
    from skewless.stack import flink_home

    flink_home.apply_to_environ()
    spec = view(tmp_path, "id")
    env = StreamExecutionEnvironment.get_execution_environment()
    fields = [Field("label", "STRING"), Field("ts", "LONG")]
    decoded = env.from_collection([], type_info=record_type(fields))
    with pytest.raises(SpecError, match="view by_id: .*id"):
        view_events(decoded, spec, fields)
