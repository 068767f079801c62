"""Per-entity tiled window state and the event-time engine that drives it. No Flink imports.

State holds one partial aggregate per hop-sized tile and per feature. The value of a
feature changes only when an event lands or when a tile leaves its window, so the engine
walks exactly those instants in time order and emits one update per instant at which
some value changed: the value at instant t covers events in [floor(t/H)*H - W + H, t].

Events apply the moment they arrive, so online values are fresh without waiting for the
watermark. An event older than the entity's newest instant (out of order within the
watermark bound, or late within the allowed lateness) cannot be added to tiles after the
fact, so the engine also keeps a *sealed* copy of the tiles as of `watermark - lateness`
plus the raw events since. A correction replays those events in event-time order from
the sealed copy and emits, with a higher revision, every instant whose value changed.
Events behind the sealed point are the caller's to dead-letter.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, field
from typing import Any, Sequence

from skewless.spec import FeatureSpec
from udfs.aggregations import Aggregation, operation_for

Values = tuple[Any, ...]
Event = tuple[int, tuple[Any, ...]]  # (event time ms, input value per feature)


@dataclass
class Position:
    """Tiles walked up to `last_instant`, and the values they gave there."""

    tiles: list[dict[int, Any]]
    last_instant: int | None = None
    last_values: Values | None = None
    # Per feature, (first tile, last tile, their merge): the window minus its newest tile.
    # In-order events only touch the newest tile, so this is reused until the window moves.
    merged: list[tuple[int, int, Any] | None] = field(default_factory=list)


@dataclass
class EntityState:
    live: Position
    sealed: Position
    sealed_at: int | None = None
    # Accepted events newer than sealed_at, in event-time order (ties in arrival order).
    recent: list[Event] = field(default_factory=list)
    # Value at each instant > sealed_at where an update was emitted, and its revision.
    steps: dict[int, Values] = field(default_factory=dict)
    revisions: dict[int, int] = field(default_factory=dict)
    # The expiry timer last asked of the runtime, so it is not asked again per event.
    timer: int | None = None


@dataclass(frozen=True)
class Update:
    valid_from: int
    values: Values
    revision: int = 0


class TiledWindows:
    """The features of one view, evaluated over tiles. Stateless itself: state is passed in.

    `lateness_ms` is how far behind the watermark an event may be and still be applied;
    `expiry_horizon` (epoch ms) stops tile-expiry instants there, so a bounded run ends
    at its horizon instead of expiring every window into the future.
    """

    def __init__(self, features: Sequence[FeatureSpec], lateness_ms: int = 0, expiry_horizon: int | None = None):
        self.features = tuple(features)
        self.ops: tuple[Aggregation, ...] = tuple(operation_for(f) for f in self.features)
        self.lateness_ms = lateness_ms
        self.expiry_horizon = expiry_horizon
        # Hot-path constants: hop (None for lifetime) and tile count per feature.
        self._hops = tuple(f.hop_ms for f in self.features)
        self._ntiles = tuple(f.tiles for f in self.features)

    def new_state(self) -> EntityState:
        return EntityState(live=self._position(), sealed=self._position())

    def inputs(self, record: dict[str, Any]) -> tuple[Any, ...]:
        """The per-feature input values of one event (None for count)."""
        return tuple(None if f.column is None else record[f.column] for f in self.features)

    def accepts(self, event_time: int, watermark: int) -> bool:
        """False for an event too far behind the watermark to be corrected for."""
        return event_time > watermark - self.lateness_ms

    # -- the two entry points: an event, a timer ------------------------------------

    def on_event(self, state: EntityState, event_time: int, inputs: tuple[Any, ...], watermark: int) -> list[Update]:
        self._seal(state, watermark)
        keys = [ts for ts, _ in state.recent]
        state.recent.insert(bisect.bisect_right(keys, event_time), (event_time, inputs))
        last = state.live.last_instant
        if last is None or event_time > last:
            return self._record(state, self._walk(state.live, [(event_time, inputs)], event_time))
        return self._correct(state)

    def on_timer(self, state: EntityState, t: int, watermark: int) -> list[Update]:
        """Walk tile expiries up to the watermark (>= `t`, the timer's instant).

        No event at or before the watermark can still arrive on time, so one callback
        covers every expiry the watermark has passed, however far it jumped.
        """
        self._seal(state, watermark)
        last = state.live.last_instant
        until = max(t, watermark)
        if last is None or until <= last:
            return []
        return self._record(state, self._walk(state.live, [], until))

    def next_timer(self, state: EntityState) -> int | None:
        """The next instant a timer must wake the entity: its next tile expiry."""
        last = state.live.last_instant
        return None if last is None else self._next_expiry(state.live, last)

    # -- window math ------------------------------------------------------------------

    def value_at(self, position: Position, t: int) -> Values:
        out = []
        for i, op in enumerate(self.ops):
            tiles = position.tiles[i]
            hop = self._hops[i]
            newest = 0 if hop is None else t // hop
            oldest = newest - self._ntiles[i] + 1
            cached = position.merged[i]
            if cached is not None and cached[0] == oldest and cached[1] == newest - 1:
                prefix = cached[2]
            else:
                prefix = op.init()
                for k in sorted(tiles):
                    if oldest <= k < newest:
                        prefix = op.merge(prefix, tiles[k])
                position.merged[i] = (oldest, newest - 1, prefix)
            newest_tile = tiles.get(newest)
            out.append(op.result(prefix if newest_tile is None else op.merge(prefix, newest_tile)))
        return tuple(out)

    def _next_expiry(self, position: Position, after: int) -> int | None:
        """The first instant > `after` at which a non-empty tile leaves its window."""
        best: int | None = None
        for tiles, hop, n in zip(position.tiles, self._hops, self._ntiles):
            if hop is None or not tiles:
                continue  # a lifetime window never loses a tile
            oldest = after // hop - n + 1
            first = min(tiles)
            if first < oldest:  # not evicted yet (sealed copies evict lazily)
                live = [k for k in tiles if k >= oldest]
                if not live:
                    continue
                first = min(live)
            instant = (first + n) * hop
            if best is None or instant < best:
                best = instant
        if best is not None and self.expiry_horizon is not None and best > self.expiry_horizon:
            return None
        return best

    def _walk(self, position: Position, events: list[Event], until: int) -> list[tuple[int, Values]]:
        """Apply `events` (sorted) and tile expiries up to `until`, in time order; return value changes."""
        changes: list[tuple[int, Values]] = []
        i = 0
        while True:
            event_time = events[i][0] if i < len(events) else None
            expiry = None if position.last_instant is None else self._next_expiry(position, position.last_instant)
            candidates = [c for c in (event_time, expiry) if c is not None]
            if not candidates or min(candidates) > until:
                return changes
            instant = min(candidates)
            while i < len(events) and events[i][0] == instant:
                self._add(position, instant, events[i][1])
                i += 1
            position.last_instant = instant
            values = self.value_at(position, instant)
            if values != position.last_values:
                position.last_values = values
                changes.append((instant, values))
            self._evict(position, instant)

    def _add(self, position: Position, ts: int, inputs: tuple[Any, ...]) -> None:
        for i, (op, tiles, value) in enumerate(zip(self.ops, position.tiles, inputs)):
            hop = self._hops[i]
            k = 0 if hop is None else ts // hop
            tiles[k] = op.add(tiles.get(k, op.init()), value, ts)
            cached = position.merged[i]
            if cached is not None and k <= cached[1]:
                position.merged[i] = None

    def _evict(self, position: Position, t: int) -> None:
        """Drop tiles that no window at an instant >= t can reach."""
        for tiles, hop, n in zip(position.tiles, self._hops, self._ntiles):
            if hop is None or not tiles:
                continue
            oldest = t // hop - n + 1
            if min(tiles) < oldest:
                for k in [k for k in tiles if k < oldest]:
                    del tiles[k]

    # -- bookkeeping for corrections ----------------------------------------------------

    def _position(self) -> Position:
        return Position(tiles=[{} for _ in self.features], merged=[None for _ in self.features])

    def _record(self, state: EntityState, changes: list[tuple[int, Values]]) -> list[Update]:
        # Only instants after the sealed point are kept: a walk may pass instants the watermark
        # has already sealed (a timer that fires after a jump of more than the lateness), and
        # a correction replays from the sealed point, so a step at or before it would be
        # "corrected" to the sealed point's value.
        sealed_at = state.sealed_at
        for instant, values in changes:
            if sealed_at is None or instant > sealed_at:
                state.steps[instant] = values
                state.revisions[instant] = 0
        return [Update(instant, values) for instant, values in changes]

    def _seal(self, state: EntityState, watermark: int) -> None:
        """Move the sealed copy up to `watermark - lateness`: nothing older can change any more.

        The sealed copy only needs its tiles (values are recomputed when a correction
        replays from it), so sealing adds events and evicts, without walking instants.
        """
        target = watermark - self.lateness_ms
        if self.expiry_horizon is not None:
            target = min(target, self.expiry_horizon)
        if state.sealed_at is not None and target <= state.sealed_at:
            return
        recent = state.recent
        split = 0
        while split < len(recent) and recent[split][0] <= target:
            self._add(state.sealed, recent[split][0], recent[split][1])
            split += 1
        if split:
            del recent[:split]
        sealed = state.sealed
        if sealed.last_instant is not None or split:
            sealed.last_instant = target
            self._evict(sealed, target)
        state.sealed_at = target
        if state.steps and min(state.steps) <= target:
            for instant in [p for p in state.steps if p <= target]:
                del state.steps[instant]
                state.revisions.pop(instant, None)

    def _correct(self, state: EntityState) -> list[Update]:
        """Replay recent events from the sealed copy; emit every instant whose value changed."""
        replay = copy.deepcopy(state.sealed)
        if replay.last_instant is not None:
            replay.last_values = self.value_at(replay, replay.last_instant)
        until = max(state.live.last_instant or state.recent[-1][0], state.recent[-1][0])
        base = replay.last_values
        new = dict(self._walk(replay, state.recent, until))
        old = state.steps
        points = sorted(set(old) | set(new))
        updates: list[Update] = []
        steps: dict[int, Values] = {}
        # Walk both step functions; `shown` is what the history shows at p once the
        # corrections before p are in: an existing row at p, else the previous value.
        new_value = shown = base
        for p in points:
            new_value = new.get(p, new_value)
            shown = old.get(p, shown)
            steps[p] = new_value  # type: ignore[assignment]
            if new_value != shown:
                revision = state.revisions.get(p, -1) + 1
                state.revisions[p] = revision
                updates.append(Update(p, new_value, revision))  # type: ignore[arg-type]
            shown = new_value
        state.steps = steps
        state.live = replay
        return updates
