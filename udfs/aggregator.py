"""The keyed aggregation operator of a view: skewless's JVM tile engine, configured from the spec.

The engine (jvm/flink/src/main/java/io/skewless/engine) runs the tiled-window semantics
of docs/operations.md, held to the brute-force oracle (tests/flink/test_engine_oracle.py).
It runs in the JVM because per-event Python state round trips capped the operator at
about 1.5k events/s; the definitions stay the single source of truth: the
operator is built here from the compiled ViewSpec and nothing else.

An event updates the entity's values the moment it arrives (fresh online values); an
event-time timer at each tile-expiry instant emits the value a window takes when a tile
leaves it. Out-of-order and late events within the view's allowed lateness produce
correction rows with a higher revision; events behind that bound go to the `LATE_EVENTS`
side output as dead letters with the reason.
"""

from __future__ import annotations

import json

from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import DataStream, OutputTag
from pyflink.java_gateway import get_gateway
from pyflink.util.java_utils import to_jarray

from skewless.spec import ViewSpec
from udfs.dead_letters import DEAD_LETTER_TYPE

# The JVM operator emits its too-late events under this tag id (side outputs match by id).
LATE_EVENTS = OutputTag("late-events", DEAD_LETTER_TYPE)
# The JVM's stand-in for "no expiry horizon".
NO_HORIZON = -1


def flink_type(value_type: str) -> TypeInformation:
    return {"long": Types.LONG(), "double": Types.DOUBLE(), "list<double>": Types.LIST(Types.DOUBLE())}[value_type]


def update_type(spec: ViewSpec) -> TypeInformation:
    names = [spec.entity_key, *spec.feature_names, "valid_from", "written_at", "version"]
    types = [Types.STRING()]
    types += [flink_type(f.value_type) for f in spec.features]
    types += [Types.LONG(), Types.LONG(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


def aggregate(events: DataStream, spec: ViewSpec, expiry_horizon: int | None) -> DataStream:
    """Key `events` (rows: key, event time, the view's input columns, topic, partition, offset)
    by entity and run the view's tiled windows; returns the update stream (`update_type`).

    `expiry_horizon` (epoch ms) stops tile-expiry updates there; None follows the watermark.
    """
    jvm = get_gateway().jvm
    columns = spec.input_columns
    function = jvm.io.skewless.flink.TileAggregatorFunction.create(
        f"{spec.name}@{spec.version}",
        to_jarray(jvm.String, [f.op for f in spec.features]),
        to_jarray(jvm.int, [-1 if f.column is None else columns.index(f.column) for f in spec.features]),
        to_jarray(jvm.long, [f.hop_ms or 0 for f in spec.features]),
        to_jarray(jvm.int, [f.tiles for f in spec.features]),
        to_jarray(jvm.String, [json.dumps(f.param) for f in spec.features]),
        spec.allowed_lateness_ms,
        NO_HORIZON if expiry_horizon is None else expiry_horizon,
    )
    return DataStream(function.applyTo(events._j_data_stream, update_type(spec).get_java_type_info()))


def late_events_of(updates: DataStream) -> DataStream:
    """The dead letters of events behind the allowed lateness, taken in the JVM:
    `updates.get_side_output(LATE_EVENTS)` yields the same rows through a Python identity map."""
    tag = get_gateway().jvm.io.skewless.flink.TileAggregatorFunction.lateEventsTag()
    return DataStream(updates._j_data_stream.getSideOutput(tag))
