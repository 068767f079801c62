"""The Java engine (jvm/flink, io.skewless.engine) against the Python one, over random streams.

Each stream is driven through udfs.tiles.TiledWindows by the one-key Driver of the unit tests,
whose every engine call (accepts, on_event, on_timer, next_timer) is recorded as a command of the
Java `Replay` harness together with the Python result. One JVM replays all the streams of a test;
its answers must be the Python ones: same instants, same revisions, bit-identical values for the
exact operations. The sketches call log/exp/pow, where the JVM's libm may differ from the C one by
an ulp, so theirs may differ by a relative 1e-12.
"""

from __future__ import annotations

import math
import random
import subprocess
from typing import Any

import pytest

from skewless.spec import FeatureSpec
from tests.unit.udfs.test_tiles import DAY, FEATURES, HOUR, Driver, drive_unbounded, random_stream
from udfs.tiles import TiledWindows

SEEDS = range(120)
ROUNDTRIP_SEEDS = range(1000, 1060)
LIBM_OPS = {"approx_count_distinct", "approx_percentile"}
# Beyond the unit tests' features: dense HLL, percentile extremes and folding on tiled windows,
# KMV saturation on a tiled window, last_n of 1, count with an input column, lifetime min/avg.
EXTRA = (
    FeatureSpec("hll_p6_1d", "approx_count_distinct", "amount", DAY, HOUR, params=(("precision", 6),)),
    FeatureSpec("p100_2h", "approx_percentile", "amount", 2 * HOUR, HOUR, params=(("q", 1.0),)),
    FeatureSpec(
        "p25_fold_1d",
        "approx_percentile",
        "amount",
        DAY,
        HOUR,
        params=(("q", 0.25), ("relative_accuracy", 0.001), ("max_buckets", 16)),
    ),
    FeatureSpec("distinct16_1d", "count_distinct", "amount", DAY, 2 * HOUR, params=(("max_size", 16),)),
    FeatureSpec("last1_2h", "last_n", "amount", 2 * HOUR, HOUR, params=(("n", 1),)),
    FeatureSpec("count_with_column_1d", "count", "amount", DAY, HOUR),
    FeatureSpec("min_lifetime", "min", "amount", None),
    FeatureSpec("avg_lifetime", "avg", "amount", None),
    FeatureSpec("var_30m", "variance", "amount", 30 * 60_000, 10 * 60_000),
)
ALL_FEATURES = FEATURES + EXTRA


class Recorder(TiledWindows):
    """TiledWindows that logs each call as a Replay command, with the Python answer it expects."""

    def __init__(self, features: list[FeatureSpec], lateness_ms: int, expiry_horizon: int | None) -> None:
        super().__init__(features, lateness_ms, expiry_horizon)
        self.commands: list[str] = [f"view {lateness_ms} {'none' if expiry_horizon is None else expiry_horizon} {len(features)}"]
        self.commands += [f"{f.op} {f.hop_ms or 0} {f.tiles} {_params(f)}" for f in features]
        self.expected: list[Any] = ["ok"]

    def accepts(self, event_time: int, watermark: int) -> bool:
        ok = super().accepts(event_time, watermark)
        self.commands.append(f"accepts {event_time} {watermark}")
        self.expected.append("true" if ok else "false")
        return ok

    def on_event(self, state, event_time, inputs, watermark):  # type: ignore[no-untyped-def]
        updates = super().on_event(state, event_time, inputs, watermark)
        values = " ".join(float(0.0 if v is None else v).hex() for v in inputs)
        self.commands.append(f"event {event_time} {watermark} {values}")
        self.expected.append([(u.valid_from, u.revision, u.values) for u in updates])
        return updates

    def on_timer(self, state, t, watermark):  # type: ignore[no-untyped-def]
        updates = super().on_timer(state, t, watermark)
        self.commands.append(f"timer {t} {watermark}")
        self.expected.append([(u.valid_from, u.revision, u.values) for u in updates])
        return updates

    def next_timer(self, state):  # type: ignore[no-untyped-def]
        t = super().next_timer(state)
        self.commands.append("next")
        self.expected.append(f"next {'none' if t is None else t}")
        return t


def _params(f: FeatureSpec) -> str:
    return ",".join(f"{k}={v!r}" for k, v in f.params) or "-"


def drive(seed: int) -> Recorder:
    """One random stream through the Python engine, as test_tiles drives it, plus wider values."""
    rng = random.Random(seed)
    turn = ALL_FEATURES[seed % len(ALL_FEATURES)]
    features = [turn, *(f for f in rng.sample(ALL_FEATURES, rng.randint(0, 7)) if f is not turn)]
    span = rng.choice([3 * HOUR, 5 * DAY, 60 * DAY])
    disorder = rng.choice([0, 1, 10 * 60_000, 2 * HOUR])
    lateness = rng.choice([0, 0, 30 * 60_000, DAY])
    horizon = None if rng.random() < 0.2 else span + 2 * disorder + rng.choice([0, DAY, 40 * DAY])
    engine = Recorder(features, lateness, horizon)
    driver = Driver(engine, disorder)
    scale = rng.choice([1.0, 1.0, 1e-7, 1e15])  # magnitudes where compensation and buckets matter
    n = rng.randint(1, 400 if seed % 7 == 0 else 120)
    for ts, row in random_stream(rng, n, span, disorder, late=2 * lateness + HOUR):
        if rng.random() < 0.2:
            row = {"amount": row["amount"] * scale + rng.choice([0.0, 1.0, 0.1])}
        driver.event(ts, row)
        if rng.random() < 0.3:
            driver.advance_watermark(driver.max_seen - disorder - 1)
        elif rng.random() < 0.03:  # a watermark jump far ahead of the events
            driver.advance_watermark(driver.max_seen + rng.choice([HOUR, 3 * DAY]))
    driver.advance_watermark(2**62)
    return engine


def replay(jar: str, recorders: list[Recorder], *flags: str) -> list[str]:
    script = "\n".join(c for r in recorders for c in r.commands) + "\n"
    done = subprocess.run(
        ["java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", jar, "io.skewless.engine.Replay", *flags],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout.splitlines()


def _parse_value(token: str, value_type: str) -> Any:
    if token == "None":
        return None
    if token.startswith("["):
        return [float(x) for x in token[1:-1].split(",") if x]
    return int(token) if value_type == "long" else float(token)


def _same(a: Any, b: Any, tolerant: bool) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y, tolerant) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    if type(a) is not type(b):
        return False
    if tolerant:
        return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))
    if isinstance(a, float):  # bit-identical: equal, same sign of zero
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return a == b


def compare(seed: int, recorder: Recorder, lines: list[str], at: int) -> int:
    """Checks one recorder's expected answers against the Java lines from `at`; returns the next index."""
    types = [f.value_type for f in recorder.features]
    tolerant = [f.op in LIBM_OPS for f in recorder.features]
    for i, want in enumerate(recorder.expected):
        where = f"seed {seed}, command {recorder.commands[i + len(recorder.features)] if i else 'view'}"
        if not isinstance(want, list):
            assert lines[at] == want, where
            at += 1
            continue
        got = []
        while lines[at] != ".":
            head, *cells = lines[at].split("\t")
            _, valid_from, revision = head.split(" ")
            got.append((int(valid_from), int(revision), tuple(_parse_value(c, t) for c, t in zip(cells, types))))
            at += 1
        at += 1
        assert [(v, r) for v, r, _ in got] == [(v, r) for v, r, _ in want], where
        for (v, _, g), (_, _, w) in zip(got, want):
            assert len(g) == len(w), where
            for f, gv, wv, tol in zip(recorder.features, g, w, tolerant):
                assert _same(gv, wv, tol), f"{where}: {f.name} at {v}: java {gv!r}, python {wv!r}"
    return at


def _check(jar: str, seeds: range, *flags: str) -> None:
    recorders = [drive(seed) for seed in seeds]
    lines = replay(jar, recorders, *flags)
    at = 0
    for seed, recorder in zip(seeds, recorders):
        at = compare(seed, recorder, lines, at)
    assert at == len(lines)


def test_java_engine_equals_python_engine(jar: str) -> None:
    _check(jar, SEEDS)


def test_java_engine_equals_python_engine_over_unbounded_interleavings(jar: str) -> None:
    """Many sparse keys behind one periodic watermark, no horizon: timers that fire after
    watermark jumps of any size, the interleaving that unbounded runs see."""
    seeds = range(5000, 5080)
    recorders: list[Recorder] = []
    for seed in seeds:
        rng = random.Random(seed)
        turn = ALL_FEATURES[seed % len(ALL_FEATURES)]
        features = [turn, *(f for f in rng.sample(ALL_FEATURES, rng.randint(0, 5)) if f is not turn)]
        keys, _ = drive_unbounded(rng, features, Recorder)
        recorders += [k.engine for k in keys]  # type: ignore[misc]
    lines = replay(jar, recorders)
    at = 0
    for recorder in recorders:
        at = compare(-1, recorder, lines, at)
    assert at == len(lines)


def test_state_encode_decode_after_every_call_changes_nothing(jar: str) -> None:
    _check(jar, ROUNDTRIP_SEEDS, "--roundtrip")
