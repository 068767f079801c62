"""The tiled engine against the brute-force oracle, over many random streams."""

from __future__ import annotations

import random

import pytest

from skewless.spec import FeatureSpec
from tests.oracle import close, values_at
from udfs.tiles import TiledWindows, Update

HOUR = 3_600_000
DAY = 24 * HOUR

FEATURES = (
    FeatureSpec("avg_amount_30d", "avg", "amount", 30 * DAY, DAY),
    FeatureSpec("count_30d", "count", None, 30 * DAY, DAY),
    FeatureSpec("sum_amount_1d", "sum", "amount", DAY, HOUR),
    FeatureSpec("max_amount_7d", "max", "amount", 7 * DAY, DAY),
    FeatureSpec("min_amount_2h", "min", "amount", 2 * HOUR, HOUR),
    FeatureSpec("count_1h", "count", None, HOUR, HOUR),
)


def random_stream(rng: random.Random, n: int, span: int, disorder: int) -> list[tuple[int, dict]]:
    """Events in arrival order: event time sorted, then displaced by at most `disorder`."""
    times = sorted(rng.randrange(0, span) for _ in range(n))
    if rng.random() < 0.5:  # force ties and exact tile boundaries
        times = sorted(rng.choice([t, (t // HOUR) * HOUR, times[0]]) for t in times)
    keyed = [(t + rng.uniform(0, disorder), t) for t in times]
    keyed.sort()
    return [(t, {"amount": round(rng.uniform(-50, 500), 2)}) for _, t in keyed]


def run_engine(
    engine: TiledWindows, arrivals: list[tuple[int, dict]], disorder: int, rng: random.Random, horizon: int
) -> list[Update]:
    """Drive the engine as the Flink operator does: watermark = max seen - disorder - 1."""
    state = engine.new_state()
    updates: list[Update] = []
    max_seen = None
    for ts, row in arrivals:
        watermark = None if max_seen is None else max_seen - disorder - 1
        assert watermark is None or ts > watermark, "generator produced a late event"
        engine.buffer(state, ts, engine.inputs(row))
        max_seen = ts if max_seen is None else max(max_seen, ts)
        if rng.random() < 0.3:
            target = max_seen - disorder - 1
            # Timers fire one instant at a time; sometimes advance in one step instead.
            while rng.random() < 0.5 and (wake := engine.wakeup(state)) is not None and wake <= target:
                updates += engine.advance(state, wake, expiry_horizon=horizon)
            updates += engine.advance(state, target, expiry_horizon=horizon)
    updates += engine.advance(state, horizon, expiry_horizon=horizon)
    return updates


def history_value(updates: list[Update], t: int, empty: tuple) -> tuple:
    best = None
    for u in updates:
        if u.valid_from <= t:
            best = u
    return empty if best is None else best.values


@pytest.mark.parametrize("seed", range(60))
def test_history_equals_oracle_at_every_instant(seed: int) -> None:
    rng = random.Random(seed)
    features = rng.sample(FEATURES, rng.randint(1, len(FEATURES)))
    engine = TiledWindows(features)
    span = rng.choice([3 * HOUR, 5 * DAY, 60 * DAY])
    disorder = rng.choice([0, 1, 10 * 60_000, 2 * HOUR])
    arrivals = random_stream(rng, rng.randint(1, 120), span, disorder)
    horizon = span + rng.choice([0, DAY, 40 * DAY])
    updates = run_engine(engine, arrivals, disorder, rng, horizon)

    events = sorted(arrivals, key=lambda e: e[0])
    empty = values_at(features, [], 0)
    # Updates are strictly increasing in time and each one is the oracle at its instant.
    instants = [u.valid_from for u in updates]
    assert instants == sorted(set(instants))
    for u in updates:
        assert close(u.values, values_at(features, events, u.valid_from)), u
    # Between updates nothing changes: probe every event time, every tile boundary around
    # them, and random instants.
    probes = {ts + d for ts, _ in events for d in (-1, 0, 1)}
    probes |= {((ts // f.hop_ms) * f.hop_ms + f.window_ms + d) for ts, _ in events for f in features for d in (-1, 0)}
    probes |= {rng.randrange(-DAY, horizon + 1) for _ in range(200)}
    for t in sorted(p for p in probes if p <= horizon):
        assert close(history_value(updates, t, empty), values_at(features, events, t)), t


def test_expiry_emits_when_a_tile_leaves_the_window() -> None:
    feature = FeatureSpec("count_1d", "count", None, DAY, HOUR)
    engine = TiledWindows([feature])
    state = engine.new_state()
    engine.buffer(state, 90 * 60_000, (None,))  # 01:30
    updates = engine.advance(state, 10 * DAY)
    # The event's tile [01:00, 02:00) leaves the 1-day window at 01:00 the next day.
    assert updates == [Update(90 * 60_000, (1,)), Update(DAY + HOUR, (0,))]


def test_horizon_stops_expiry_but_not_events() -> None:
    feature = FeatureSpec("count_1d", "count", None, DAY, HOUR)
    engine = TiledWindows([feature])
    state = engine.new_state()
    engine.buffer(state, 0, (None,))
    assert engine.advance(state, 10 * DAY, expiry_horizon=DAY - 1) == [Update(0, (1,))]
    assert state.last_values == (1,)


def test_state_never_holds_more_tiles_than_the_window() -> None:
    feature = FeatureSpec("sum_1d", "sum", "amount", DAY, HOUR)
    engine = TiledWindows([feature])
    state = engine.new_state()
    for i in range(24 * 10):
        engine.buffer(state, i * HOUR, (1.0,))
        engine.advance(state, i * HOUR)
        assert len(state.tiles[0]) <= feature.tiles
    assert state.last_values == (24.0,)
