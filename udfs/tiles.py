"""Per-entity tiled window state and the event-time engine that drives it. No Flink imports.

State holds one partial aggregate per hop-sized tile and per feature, never raw events
(except those still waiting for the watermark). The value of a feature changes only when
an event lands or when a tile leaves its window, so `advance` walks exactly those
instants in time order and emits one update per instant at which some value changed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any, Sequence

from skewless.spec import FeatureSpec
from udfs.aggregations import Aggregation, operation

Values = tuple[Any, ...]


@dataclass
class EntityState:
    tiles: list[dict[int, Any]]
    # Events not yet applied, sorted by event time: (event_time_ms, input values by feature).
    pending: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    last_instant: int | None = None
    last_values: Values | None = None


@dataclass(frozen=True)
class Update:
    valid_from: int
    values: Values


class TiledWindows:
    """The features of one view, evaluated over tiles. Stateless itself: state is passed in."""

    def __init__(self, features: Sequence[FeatureSpec]) -> None:
        self.features = tuple(features)
        self.ops: tuple[Aggregation, ...] = tuple(operation(f.op) for f in self.features)

    def new_state(self) -> EntityState:
        return EntityState(tiles=[{} for _ in self.features])

    def inputs(self, record: dict[str, Any]) -> tuple[Any, ...]:
        """The per-feature input values of one event (None for count)."""
        return tuple(None if f.column is None else record[f.column] for f in self.features)

    def buffer(self, state: EntityState, event_time: int, inputs: tuple[Any, ...]) -> None:
        """Hold an event until the watermark passes it; order ties by arrival."""
        keys = [ts for ts, _ in state.pending]
        state.pending.insert(bisect.bisect_right(keys, event_time), (event_time, inputs))

    def value_at(self, state: EntityState, t: int) -> Values:
        out = []
        for spec, op, tiles in zip(self.features, self.ops, state.tiles):
            acc = op.init()
            newest = spec.tile_of(t)
            oldest = newest - spec.tiles + 1
            if len(tiles) <= spec.tiles:
                for k, tile in tiles.items():
                    if oldest <= k <= newest:
                        acc = op.merge(acc, tile)
            else:
                for k in range(oldest, newest + 1):
                    tile = tiles.get(k)
                    if tile is not None:
                        acc = op.merge(acc, tile)
            out.append(op.result(acc))
        return tuple(out)

    def next_expiry(self, state: EntityState, after: int) -> int | None:
        """The first instant > `after` at which a non-empty tile leaves its window."""
        best: int | None = None
        for spec, tiles in zip(self.features, state.tiles):
            if spec.hop_ms is None:
                continue  # a lifetime window never loses a tile
            oldest = after // spec.hop_ms - spec.tiles + 1
            live = [k for k in tiles if k >= oldest]
            if live:
                instant = (min(live) + spec.tiles) * spec.hop_ms
                best = instant if best is None else min(best, instant)
        return best

    def wakeup(self, state: EntityState) -> int | None:
        """When the engine next has work: the next pending event or the next expiry."""
        candidates = []
        if state.pending:
            candidates.append(state.pending[0][0])
        if state.last_instant is not None:
            expiry = self.next_expiry(state, state.last_instant)
            if expiry is not None:
                candidates.append(expiry)
        return min(candidates) if candidates else None

    def advance(self, state: EntityState, until: int, expiry_horizon: int | None = None) -> list[Update]:
        """Apply everything with time <= `until`, in time order; return the changed values.

        Expiry instants later than `expiry_horizon` are not walked: a bounded run ends at
        its horizon instead of expiring every window into the future.
        """
        updates: list[Update] = []
        while True:
            instant = self._next_instant(state, expiry_horizon)
            if instant is None or instant > until:
                return updates
            while state.pending and state.pending[0][0] == instant:
                _, inputs = state.pending.pop(0)
                self._add(state, instant, inputs)
            state.last_instant = instant
            values = self.value_at(state, instant)
            if values != state.last_values:
                state.last_values = values
                updates.append(Update(instant, values))
            self._evict(state, instant)

    def _next_instant(self, state: EntityState, expiry_horizon: int | None) -> int | None:
        event = state.pending[0][0] if state.pending else None
        expiry = None if state.last_instant is None else self.next_expiry(state, state.last_instant)
        if expiry is not None and expiry_horizon is not None and expiry > expiry_horizon:
            expiry = None
        if event is None:
            return expiry
        return event if expiry is None else min(event, expiry)

    def _add(self, state: EntityState, ts: int, inputs: tuple[Any, ...]) -> None:
        for spec, op, tiles, value in zip(self.features, self.ops, state.tiles, inputs):
            k = spec.tile_of(ts)
            tiles[k] = op.add(tiles.get(k, op.init()), value, ts)

    def _evict(self, state: EntityState, t: int) -> None:
        """Drop tiles that no window at an instant >= t can reach."""
        for spec, tiles in zip(self.features, state.tiles):
            if spec.hop_ms is None:
                continue
            oldest = t // spec.hop_ms - spec.tiles + 1
            for k in [k for k in tiles if k < oldest]:
                del tiles[k]
