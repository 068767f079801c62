"""The job's tile engine (io.skewless.engine, through skewless.testing) against the
brute-force oracle (tests/oracle.py), over many random streams.

The engine is driven the way the Flink operator drives it: events in arrival order with
a bounded-out-of-orderness watermark, event-time timers at tile expiries, and some
events later than the watermark (corrected when within the allowed lateness). Exact
operations must equal the oracle (floats to a relative 1e-9: the engine sums tiles with
Neumaier compensation, the oracle with math.fsum, in another order); the sketches must
lie within their documented error bounds (`tests.oracle.values_agree`). With
`roundtrip`, every entity's state is encoded and decoded after every call, as a
checkpoint and restore would, and must change nothing.
"""

from __future__ import annotations

import heapq
import random

import pytest

from skewless.spec import FeatureSpec
from tests.oracle import values_agree, values_at
from skewless.testing import Engine
from skewless.testing.engine import Step as Update

HOUR = 3_600_000
DAY = 24 * HOUR

FEATURES = (
    FeatureSpec("avg_amount_30d", "avg", "amount", 30 * DAY, DAY),
    FeatureSpec("count_30d", "count", None, 30 * DAY, DAY),
    FeatureSpec("sum_amount_1d", "sum", "amount", DAY, HOUR),
    FeatureSpec("max_amount_7d", "max", "amount", 7 * DAY, DAY),
    FeatureSpec("min_amount_2h", "min", "amount", 2 * HOUR, HOUR),
    FeatureSpec("count_1h", "count", None, HOUR, HOUR),
    FeatureSpec("count_lifetime", "count", None, None, None),
    FeatureSpec("var_amount_7d", "variance", "amount", 7 * DAY, DAY),
    FeatureSpec("std_amount_1d", "stddev", "amount", DAY, HOUR),
    FeatureSpec("first_amount_2h", "first", "amount", 2 * HOUR, HOUR),
    FeatureSpec("last_amount_1d", "last", "amount", DAY, HOUR),
    FeatureSpec("last3_amount_1d", "last_n", "amount", DAY, HOUR, params=(("n", 3),)),
    FeatureSpec("distinct_amount_7d", "count_distinct", "amount", 7 * DAY, DAY),
    FeatureSpec("approx_distinct_amount_30d", "approx_count_distinct", "amount", 30 * DAY, DAY),
    FeatureSpec("approx_distinct_p4_2h", "approx_count_distinct", "amount", 2 * HOUR, HOUR, params=(("precision", 4),)),
    FeatureSpec("p50_amount_7d", "approx_percentile", "amount", 7 * DAY, DAY, params=(("q", 0.5),)),
    FeatureSpec("p0_amount_1h", "approx_percentile", "amount", HOUR, HOUR, params=(("q", 0.0),)),
    # Lifetime windows: one tile that never expires.
    FeatureSpec("sum_amount_lifetime", "sum", "amount", None),
    FeatureSpec("first_amount_lifetime", "first", "amount", None),
    FeatureSpec("last5_amount_lifetime", "last_n", "amount", None, params=(("n", 5),)),
    FeatureSpec("std_amount_lifetime", "stddev", "amount", None),
    FeatureSpec("distinct16_lifetime", "count_distinct", "amount", None, params=(("max_size", 16),)),
    FeatureSpec("approx_distinct_lifetime", "approx_count_distinct", "amount", None),
    FeatureSpec(
        "p90_amount_lifetime",
        "approx_percentile",
        "amount",
        None,
        params=(("q", 0.9), ("relative_accuracy", 0.05), ("max_buckets", 16)),
    ),
)
# Edge cases: dense HLL, percentile extremes and bucket folding on tiled windows, count_distinct
# past its cap, last_n of 1, count with an input column, lifetime min/avg, sub-hour hops.
FEATURES += (
    FeatureSpec("hll_p6_1d", "approx_count_distinct", "amount", DAY, HOUR, params=(("precision", 6),)),
    FeatureSpec("p100_2h", "approx_percentile", "amount", 2 * HOUR, HOUR, params=(("q", 1.0),)),
    FeatureSpec(
        "p25_fold_1d", "approx_percentile", "amount", DAY, HOUR,
        params=(("q", 0.25), ("relative_accuracy", 0.001), ("max_buckets", 16)),
    ),
    FeatureSpec("distinct16_1d", "count_distinct", "amount", DAY, 2 * HOUR, params=(("max_size", 16),)),
    FeatureSpec("last1_2h", "last_n", "amount", 2 * HOUR, HOUR, params=(("n", 1),)),
    FeatureSpec("count_with_column_1d", "count", "amount", DAY, HOUR),
    FeatureSpec("min_lifetime", "min", "amount", None),
    FeatureSpec("avg_lifetime", "avg", "amount", None),
    FeatureSpec("var_30m", "variance", "amount", 30 * 60_000, 10 * 60_000),
)
AMOUNT_POOL = (0.0, -0.0, 1.5, 2.0, 100.0, -3.25)  # repeats: ties on (time, value), duplicates


def random_stream(rng: random.Random, n: int, span: int, disorder: int, late: int) -> list[tuple[int, dict]]:
    """Events in arrival order: event time plus a delay up to `disorder`, a few up to `late` more."""
    times = sorted(rng.randrange(0, span) for _ in range(n))
    if rng.random() < 0.5:  # force ties and exact tile boundaries
        times = sorted(rng.choice([t, (t // HOUR) * HOUR, times[0]]) for t in times)
    delays = [rng.uniform(0, disorder) + (rng.uniform(0, late) if rng.random() < 0.1 else 0) for _ in times]
    arrivals = sorted(zip((t + d for t, d in zip(times, delays)), range(len(times)), times))
    pooled = rng.random() < 0.4
    return [
        (t, {"amount": rng.choice(AMOUNT_POOL) if pooled and rng.random() < 0.7 else round(rng.uniform(-50, 500), 2)})
        for _, _, t in arrivals
    ]


class Driver:
    """A one-key stand-in for the Flink operator: watermarks, timers, dead letters."""

    def __init__(self, engine: Engine, disorder: int) -> None:
        self.engine = engine
        self.disorder = disorder
        self.watermark = -(2**63)
        self.max_seen: int | None = None
        self.timers: list[int] = []
        self.accepted: list[tuple[int, dict]] = []
        self.dead: list[int] = []
        self.log: list[tuple[Update, int]] = []  # each update with how many events were accepted then

    def event(self, ts: int, row: dict) -> None:
        if not self.engine.accepts(ts, self.watermark):
            self.dead.append(ts)
        else:
            self.accepted.append((ts, row))
            self._emit(self.engine.on_event(ts, self.engine.inputs(row), self.watermark))
        self.max_seen = ts if self.max_seen is None else max(self.max_seen, ts)

    def advance_watermark(self, watermark: int) -> None:
        self.watermark = max(self.watermark, watermark)
        while self.timers and self.timers[0] <= self.watermark:
            t = heapq.heappop(self.timers)
            self._emit(self.engine.on_timer(t, self.watermark))

    def _emit(self, updates: list[Update]) -> None:
        self.log += [(u, len(self.accepted)) for u in updates]
        nxt = self.engine.next_timer()
        if nxt is not None and nxt not in self.timers:
            heapq.heappush(self.timers, nxt)


def latest_history(log: list[tuple[Update, int]]) -> list[Update]:
    """Per valid_from, the update with the highest revision: the event-time history."""
    best: dict[int, Update] = {}
    for u, _ in log:
        if u.valid_from not in best or u.revision > best[u.valid_from].revision:
            best[u.valid_from] = u
    return [best[k] for k in sorted(best)]


def history_value(updates: list[Update], t: int, empty: tuple) -> tuple:
    best = None
    for u in updates:
        if u.valid_from <= t:
            best = u
    return empty if best is None else best.values


@pytest.mark.parametrize("seed", range(80))
def test_history_equals_oracle_at_every_instant(seed: int) -> None:
    rng = random.Random(seed)
    # A few features at random, plus one in turn so that every operation is covered.
    turn = FEATURES[seed % len(FEATURES)]
    features = [turn, *(f for f in rng.sample(FEATURES, rng.randint(0, 6)) if f is not turn)]
    span = rng.choice([3 * HOUR, 5 * DAY, 60 * DAY])
    disorder = rng.choice([0, 1, 10 * 60_000, 2 * HOUR])
    lateness = rng.choice([0, 0, 30 * 60_000, DAY])
    horizon = span + 2 * disorder + rng.choice([0, DAY, 40 * DAY])
    engine = Engine(features, lateness, horizon, roundtrip=seed % 4 == 0)
    driver = Driver(engine, disorder)
    for ts, row in random_stream(rng, rng.randint(1, 120), span, disorder, late=2 * lateness + HOUR):
        driver.event(ts, row)
        if rng.random() < 0.3:
            driver.advance_watermark(driver.max_seen - disorder - 1)
    driver.advance_watermark(2**62)

    accepted = sorted(driver.accepted, key=lambda e: e[0])
    assert len(driver.accepted) + len(driver.dead) > 0
    # As known: every update, when emitted, is the oracle over the events accepted by then.
    for u, known in driver.log:
        assert values_agree(features, u.values, driver.accepted[:known], u.valid_from), u
    # As it happened: the latest revision per instant forms the oracle's step function.
    history = latest_history(driver.log)
    empty = values_at(features, [], 0)
    probes = {ts + d for ts, _ in accepted for d in (-1, 0, 1)}
    probes |= {
        (ts // f.hop_ms) * f.hop_ms + f.window_ms + d
        for ts, _ in accepted
        for f in features
        if f.hop_ms
        for d in (-1, 0)
    }
    probes |= {rng.randrange(-DAY, horizon + 1) for _ in range(200)}
    for t in sorted(p for p in probes if p <= horizon):
        assert values_agree(features, history_value(history, t, empty), accepted, t), t


def test_an_event_behind_the_lateness_bound_is_refused() -> None:
    engine = Engine([FEATURES[1]], lateness_ms=1_000)
    assert engine.accepts(10_001, watermark=11_000)
    assert not engine.accepts(10_000, watermark=11_000)


def test_expiry_emits_when_a_tile_leaves_the_window() -> None:
    engine = Engine([FeatureSpec("count_1d", "count", None, DAY, HOUR)])
    assert engine.on_event(90 * 60_000, (None,), -1) == [Update(90 * 60_000, (1,))]
    # The event's tile [01:00, 02:00) leaves the 1-day window at 01:00 the next day.
    assert engine.next_timer() == DAY + HOUR
    assert engine.on_timer(DAY + HOUR, DAY + HOUR) == [Update(DAY + HOUR, (0,))]


def test_horizon_stops_expiry_but_not_events() -> None:
    engine = Engine([FeatureSpec("count_1d", "count", None, DAY, HOUR)], expiry_horizon=DAY - 1)
    assert engine.on_event(0, (None,), -1) == [Update(0, (1,))]
    assert engine.next_timer() is None
    # The value is 1 before and after: the first event left the window, the second entered.
    assert engine.on_event(2 * DAY, (None,), -1) == []
    assert engine.next_timer() is None


def test_an_out_of_order_event_corrects_later_instants_with_a_new_revision() -> None:
    engine = Engine([FeatureSpec("count_1d", "count", None, DAY, HOUR)], lateness_ms=HOUR)
    engine.on_event(10 * HOUR, (None,), -1)
    updates = engine.on_event(9 * HOUR, (None,), 9 * HOUR - 1)
    assert updates == [Update(9 * HOUR, (1,)), Update(10 * HOUR, (2,), revision=1)]


def test_a_timer_after_a_watermark_jump_past_the_lateness_leaves_sealed_instants_alone() -> None:
    """A live run's periodic watermark can jump past an idle entity's expiries by more than
    the lateness: the timer then walks instants that are already sealed. An out-of-order
    event after that must correct only instants after the sealed point."""
    features = [
        FeatureSpec("count_1h", "count", None, HOUR, HOUR),
        FeatureSpec("count_2h", "count", None, 2 * HOUR, HOUR),
        FeatureSpec("count_3h", "count", None, 3 * HOUR, HOUR),
    ]
    engine = Engine(features, lateness_ms=HOUR)
    driver = Driver(engine, disorder=0)
    driver.event(30 * 60_000, {})
    driver.advance_watermark(3 * HOUR + 40 * 60_000)  # walks 1:00, 2:00, 3:00; seals up to 2:40
    assert [(u.valid_from, u.revision, u.values) for u, _ in driver.log[1:]] == [
        (HOUR, 0, (0, 1, 1)),
        (2 * HOUR, 0, (0, 0, 1)),
        (3 * HOUR, 0, (0, 0, 0)),
    ]
    del driver.log[:]
    driver.event(2 * HOUR + 50 * 60_000, {})  # after the sealed point, before the newest instant
    assert [(u.valid_from, u.revision, u.values) for u, _ in driver.log] == [
        (2 * HOUR + 50 * 60_000, 0, (1, 1, 2)),
        (3 * HOUR, 1, (0, 1, 1)),
    ]


def drive_unbounded(
    rng: random.Random, features: list[FeatureSpec], roundtrip: bool = False
) -> tuple[list[Driver], list[FeatureSpec]]:
    """Many sparse keys behind one periodic watermark, as an unbounded job sees them: each
    watermark (every few events, of bounded out-of-orderness over all keys) fires every
    key's due timers, so an idle key's timers fire after jumps of any size, and no horizon
    stops expiry. One engine per key."""
    lateness = rng.choice([0, 30 * 60_000, HOUR, DAY])
    disorder = rng.choice([0, 10 * 60_000, HOUR])
    keys = [Driver(Engine(features, lateness, None, roundtrip=roundtrip), disorder) for _ in range(rng.randint(1, 12))]
    span = rng.choice([6 * HOUR, 3 * DAY, 20 * DAY])
    n = rng.randint(20, 40 * len(keys))
    times = sorted(rng.randrange(span) for _ in range(n))
    late = 2 * lateness + HOUR
    arrivals = sorted((t + rng.uniform(0, disorder) + (rng.uniform(0, late) if rng.random() < 0.05 else 0), t) for t in times)
    period = rng.choice([1, 7, 40, 200])
    watermark, max_seen = -(2**63), -(2**63)
    for _, ts in arrivals:
        key = rng.choice(keys)
        key.watermark = watermark
        key.event(ts, {"amount": rng.choice(AMOUNT_POOL) if rng.random() < 0.3 else round(rng.uniform(-50, 500), 2)})
        max_seen = max(max_seen, ts)
        if rng.random() < 1 / period:
            watermark = max(watermark, max_seen - disorder - 1)
            for k in keys:
                k.advance_watermark(watermark)
    for k in keys:  # the producer goes quiet; the watermark follows the last events and beyond
        k.advance_watermark(max_seen + 40 * DAY)
    return keys, features


@pytest.mark.parametrize("seed", range(150))
def test_unbounded_interleavings_equal_the_oracle(seed: int) -> None:
    rng = random.Random(seed)
    turn = FEATURES[seed % len(FEATURES)]  # every operation in turn
    features = [turn, *(f for f in rng.sample(FEATURES, rng.randint(0, 5)) if f is not turn)]
    keys, features = drive_unbounded(rng, features, roundtrip=seed % 5 == 0)
    empty = values_at(features, [], 0)
    for driver in keys:
        for u, known in driver.log:
            assert values_agree(features, u.values, driver.accepted[:known], u.valid_from), u
        accepted = sorted(driver.accepted, key=lambda e: e[0])
        history = latest_history(driver.log)
        probes = {u.valid_from + d for u, _ in driver.log for d in (-1, 0)} | {ts for ts, _ in accepted}
        for t in sorted(probes):
            assert values_agree(features, history_value(history, t, empty), accepted, t), t
