"""The keyed operator: tiled windows in Flink keyed state, driven by event-time timers.

Events wait in state until the watermark passes them, then the engine applies them in
event-time order, so each emitted update is exactly the window value at its instant.
A timer at each tile-expiry instant emits the value a window takes when a tile leaves it.
Events already behind the watermark on arrival are late: they are dead-lettered.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

from pyflink.common import Row
from pyflink.common.typeinfo import Types, TypeInformation
from pyflink.datastream import KeyedProcessFunction, OutputTag
from pyflink.datastream.state import ValueStateDescriptor

from skewless.spec import ViewSpec
from udfs.dead_letters import DEAD_LETTER_TYPE, dead_letter
from udfs.tiles import TiledWindows

LATE_EVENTS = OutputTag("late-events", DEAD_LETTER_TYPE)
# The USING TIMESTAMP version: microseconds of valid_from, the low digits left for revisions.
VERSION_SCALE = 1000


def flink_type(value_type: str) -> TypeInformation:
    return {"long": Types.LONG(), "double": Types.DOUBLE(), "list<double>": Types.LIST(Types.DOUBLE())}[value_type]


def update_type(spec: ViewSpec) -> TypeInformation:
    names = [spec.entity_key, *spec.feature_names, "valid_from", "written_at", "version"]
    types = [Types.STRING()]
    types += [flink_type(f.value_type) for f in spec.features]
    types += [Types.LONG(), Types.LONG(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


class TileAggregator(KeyedProcessFunction):
    def __init__(self, spec: ViewSpec, expiry_horizon: int | None) -> None:
        self.spec = spec
        self.expiry_horizon = expiry_horizon
        self.engine: TiledWindows | None = None
        self.state = None
        self.late = None
        self.input_index: list[int | None] = []

    def open(self, runtime_context: Any) -> None:
        self.engine = TiledWindows(self.spec.features)
        self.state = runtime_context.get_state(ValueStateDescriptor("tiles", Types.PICKLED_BYTE_ARRAY()))
        self.late = runtime_context.get_metrics_group().counter("late_events")
        # Decoded events carry the view's input columns once each; features index into them.
        columns = self.spec.input_columns
        self.input_index = [None if f.column is None else columns.index(f.column) for f in self.spec.features]

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        event_time = value[1]
        watermark = ctx.timer_service().current_watermark()
        if event_time <= watermark:
            self.late.inc()  # type: ignore[union-attr]
            reason = f"late event: event_time {event_time} is {watermark - event_time + 1} ms behind the watermark"
            body = json.dumps({"key": value[0], "event_time": event_time}).encode()
            yield LATE_EVENTS, dead_letter(body, reason, "aggregate", value[-3], value[-2], value[-1])
            return
        engine = self.engine
        state = self.state.value() or engine.new_state()  # type: ignore[union-attr]
        inputs = tuple(None if i is None else value[2 + i] for i in self.input_index)
        engine.buffer(state, event_time, inputs)  # type: ignore[union-attr]
        self.state.update(state)  # type: ignore[union-attr]
        ctx.timer_service().register_event_time_timer(event_time)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Row]:
        engine = self.engine
        state = self.state.value()  # type: ignore[union-attr]
        if state is None:
            return
        updates = engine.advance(state, timestamp, self.expiry_horizon)  # type: ignore[union-attr]
        expiry = None if state.last_instant is None else engine.next_expiry(state, state.last_instant)  # type: ignore[union-attr]
        if expiry is not None and (self.expiry_horizon is None or expiry <= self.expiry_horizon):
            ctx.timer_service().register_event_time_timer(expiry)
        self.state.update(state)  # type: ignore[union-attr]
        key = ctx.get_current_key()
        now = int(time.time() * 1000)
        for u in updates:
            yield Row(key, *u.values, u.valid_from, now, u.valid_from * VERSION_SCALE)
