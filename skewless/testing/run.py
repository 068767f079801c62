"""Drive a view's engine over events the way the Flink job does.

Events arrive in list order, as from one Kafka partition. Before each event the watermark
is the newest event time seen minus the view's out-of-orderness, minus 1 (the job's
bounded-out-of-orderness watermark, here advanced after every event). An event behind the
watermark by more than the allowed lateness is late: the job dead-letters it, here it is
listed in `ViewRun.late`. Tile-expiry timers fire as the watermark passes them; at the end of
the input the watermark jumps to the end of time, as at the end of a bounded job, so every
timer up to the expiry horizon (`until`) fires.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from skewless.events.codec import is_missing_key
from skewless.spec import ViewSpec
from skewless.testing.engine import Engine, EngineError
from skewless.testing.logic import RowLogic

MIN_WATERMARK = -(2**63)
END_OF_INPUT = 2**62


@dataclass(frozen=True)
class Update:
    """A row the job writes for one entity: its values from `valid_from` on, at `revision`
    (0 at first; a correction of the same instant by an out-of-order event has a higher one)."""

    key: str
    valid_from: int
    revision: int
    values: dict[str, Any]


@dataclass
class ViewRun:
    updates: list[Update] = field(default_factory=list)
    late: list[dict[str, Any]] = field(default_factory=list)  # events the job would dead-letter as late
    filtered: list[dict[str, Any]] = field(default_factory=list)  # events the view's filter dropped


def _spec_of(view: Any) -> ViewSpec:
    if isinstance(view, ViewSpec):
        return view
    compile_view = getattr(view, "compile", None)
    if compile_view is None:
        raise EngineError(f"run_view takes a FeatureView or a ViewSpec, got {type(view).__name__}")
    return compile_view()


def simulate(
    view: Any, events: Iterable[Mapping[str, Any]], *, until: int | None = None, roundtrip: bool = False
) -> ViewRun:
    """Every update, late event and filtered event of `view` over `events` (dicts of the
    view's source fields). `until`: the expiry horizon, epoch ms (None: windows expire to the end).
    `roundtrip`: checkpoint and restore each entity's state after every step."""
    spec = _spec_of(view)
    row_logic = RowLogic(spec, roundtrip=roundtrip)  # the job's evaluator; EventRejected on failure
    names = spec.feature_names
    engines: dict[str, Engine] = {}
    timers: list[tuple[int, str]] = []
    armed: dict[str, int | None] = {}
    run = ViewRun()
    watermark, newest = MIN_WATERMARK, MIN_WATERMARK

    def emit(key: str, steps: list) -> None:
        run.updates.extend(Update(key, s.valid_from, s.revision, dict(zip(names, s.values))) for s in steps)
        wake = engines[key].next_timer()
        if wake is not None and wake != armed.get(key):
            heapq.heappush(timers, (wake, key))
            armed[key] = wake

    def advance(to: int) -> None:
        nonlocal watermark
        watermark = max(watermark, to)
        while timers and timers[0][0] <= watermark:
            t, key = heapq.heappop(timers)
            if armed.get(key) == t:
                armed[key] = None
                emit(key, engines[key].on_timer(t, watermark))

    try:
        for event in events:
            key = _key(spec, event)  # the job checks the key before the row logic
            row = row_logic(event)
            if row is None:
                run.filtered.append(dict(event))
                continue
            ts = _event_time(spec, row)
            if key not in engines:
                engines[key] = Engine.of_view(spec, until, roundtrip=roundtrip)
            engine = engines[key]
            if not engine.accepts(ts, watermark):
                run.late.append(dict(event))
            else:
                emit(key, engine.on_event(ts, engine.inputs(row), watermark))
            newest = max(newest, ts)
            advance(newest - spec.out_of_orderness_ms - 1)
        advance(END_OF_INPUT)
    finally:
        for engine in engines.values():
            engine.close()
        row_logic.close()
    return run


def run_view(view: Any, events: Iterable[Mapping[str, Any]], *, until: int | None = None) -> list[Update]:
    """The rows `view` writes for `events`, in the order the job would emit them."""
    return simulate(view, events, until=until).updates


def _key(spec: ViewSpec, row: Mapping[str, Any]) -> str:
    key = row.get(spec.source_key_field)
    if is_missing_key(key):
        raise EngineError(f"event {dict(row)!r} has no entity key {spec.source_key_field!r}")
    return str(key)


def _event_time(spec: ViewSpec, row: Mapping[str, Any]) -> int:
    ts = row.get(spec.event_time_field)
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise EngineError(f"event {dict(row)!r}: {spec.event_time_field!r} must be epoch milliseconds (an int)")
    return ts
