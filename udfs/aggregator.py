"""The keyed operator: tiled windows in Flink keyed state, driven by events and expiry timers.

An event updates the entity's values the moment it arrives (fresh online values); an
event-time timer at each tile-expiry instant emits the value a window takes when a tile
leaves it. Out-of-order and late events within the view's allowed lateness produce
correction rows with a higher revision (see udfs/tiles.py); events behind that bound are
dead-lettered with the reason.
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
from udfs.dead_letters import DEAD_LETTER_TYPE
from udfs.decode import view_dead_letter
from udfs.tiles import TiledWindows, Update

LATE_EVENTS = OutputTag("late-events", DEAD_LETTER_TYPE)
# Cassandra's USING TIMESTAMP: microseconds of valid_from, the low three digits carry the
# revision, so a correction of an instant outranks the value it corrects.
VERSION_SCALE = 1000
MAX_REVISION = VERSION_SCALE - 1


def flink_type(value_type: str) -> TypeInformation:
    return {"long": Types.LONG(), "double": Types.DOUBLE(), "list<double>": Types.LIST(Types.DOUBLE())}[value_type]


def update_type(spec: ViewSpec) -> TypeInformation:
    names = [spec.entity_key, *spec.feature_names, "valid_from", "written_at", "version"]
    types = [Types.STRING()]
    types += [flink_type(f.value_type) for f in spec.features]
    types += [Types.LONG(), Types.LONG(), Types.LONG()]
    return Types.ROW_NAMED(names, types)


def version_of(update: Update) -> int:
    return update.valid_from * VERSION_SCALE + min(update.revision, MAX_REVISION)


class TileAggregator(KeyedProcessFunction):
    def __init__(self, spec: ViewSpec, expiry_horizon: int | None) -> None:
        self.spec = spec
        self.expiry_horizon = expiry_horizon
        self.engine: TiledWindows | None = None
        self.state = None
        self.late = None
        self.input_index: list[int | None] = []

    def open(self, runtime_context: Any) -> None:
        self.engine = TiledWindows(self.spec.features, self.spec.allowed_lateness_ms, self.expiry_horizon)
        self.state = runtime_context.get_state(ValueStateDescriptor("tiles", Types.PICKLED_BYTE_ARRAY()))
        self.late = runtime_context.get_metrics_group().counter("late_events")
        # Decoded events carry the view's input columns once each; features index into them.
        columns = self.spec.input_columns
        self.input_index = [None if f.column is None else columns.index(f.column) for f in self.spec.features]

    def process_element(self, value: Row, ctx: KeyedProcessFunction.Context) -> Iterator[Any]:
        engine = self.engine
        event_time = value[1]
        watermark = ctx.timer_service().current_watermark()
        if not engine.accepts(event_time, watermark):  # type: ignore[union-attr]
            self.late.inc()  # type: ignore[union-attr]
            behind = watermark - event_time
            reason = (
                f"late event: event_time {event_time} is {behind} ms behind the watermark, "
                f"beyond the allowed lateness of {self.spec.allowed_lateness_ms} ms"
            )
            body = json.dumps({"key": value[0], "event_time": event_time}).encode()
            yield LATE_EVENTS, view_dead_letter(self.spec, body, reason, "aggregate", value[-3], value[-2], value[-1])
            return
        state = self.state.value() or engine.new_state()  # type: ignore[union-attr]
        inputs = tuple(None if i is None else value[2 + i] for i in self.input_index)
        updates = engine.on_event(state, event_time, inputs, watermark)  # type: ignore[union-attr]
        yield from self._emit(state, updates, ctx)

    def on_timer(self, timestamp: int, ctx: KeyedProcessFunction.OnTimerContext) -> Iterator[Row]:
        state = self.state.value()  # type: ignore[union-attr]
        if state is None:
            return
        watermark = ctx.timer_service().current_watermark()
        updates = self.engine.on_timer(state, timestamp, watermark)  # type: ignore[union-attr]
        yield from self._emit(state, updates, ctx)

    def _emit(self, state: Any, updates: list[Update], ctx: Any) -> Iterator[Row]:
        wake = self.engine.next_timer(state)  # type: ignore[union-attr]
        if wake is not None and wake != state.timer:
            ctx.timer_service().register_event_time_timer(wake)
            state.timer = wake
        self.state.update(state)  # type: ignore[union-attr]
        key = ctx.get_current_key()
        now = int(time.time() * 1000)
        for u in updates:
            yield Row(key, *u.values, u.valid_from, now, version_of(u))
