"""The load generator's pure parts: percentiles, run validation, open-loop accounting (no timing asserted)."""

from __future__ import annotations

import asyncio
import math

import pytest

from skewless.serving.bench import LoadResult, check_load, open_loop, open_loop_threads, percentile


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile(values, 0.0) == 1.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([1.0, 2.0], 0.5) == 1.0
    assert math.isnan(percentile([], 0.5))


def test_percentile_refuses_q_outside_0_1():
    with pytest.raises(ValueError, match="0 <= q <= 1"):
        percentile([1.0], 99)


def test_a_run_needs_a_positive_rate_and_duration_that_schedule_a_request():
    assert check_load(500, 2) == 1000
    for rate, seconds in ((0, 1), (-1, 1), (math.inf, 1), (math.nan, 1), (10, 0), (10, -2)):
        with pytest.raises(ValueError):
            check_load(rate, seconds)
    with pytest.raises(ValueError, match="schedules no request"):
        check_load(1, 0.5)


def test_summary_counts_and_rounds():
    result = LoadResult(sent=4, ok=3, errors=1, latencies_ms=[4.0, 1.0, 3.0, 2.0])
    summary = result.summary()
    assert (summary["sent"], summary["ok"], summary["errors"]) == (4, 3, 1)
    assert (summary["p50_ms"], summary["p99_ms"], summary["max_ms"], summary["mean_ms"]) == (2.0, 4.0, 4.0, 2.5)


def test_open_loop_counts_false_and_raising_calls_as_errors():
    calls = iter(range(1000))

    async def call() -> bool:
        n = next(calls)
        if n % 3 == 2:
            raise RuntimeError("boom")
        return n % 3 == 0

    result = asyncio.run(open_loop(call, rate=200, seconds=0.05))
    assert result.sent == 10 and result.ok == 4 and result.errors == 6 and len(result.latencies_ms) == 10


def test_open_loop_cancels_what_never_answers_and_counts_it_as_an_error():
    async def hang() -> bool:
        await asyncio.sleep(3600)
        return True

    result = asyncio.run(open_loop(hang, rate=100, seconds=0.03, grace_s=0.05))
    assert result.sent == 3 and result.ok == 0 and result.errors == 3 and result.latencies_ms == []


def test_open_loop_threads_runs_every_scheduled_call_once():
    seen: list[int] = []

    def call() -> bool:
        seen.append(1)
        return len(seen) % 2 == 0

    result = open_loop_threads(call, rate=400, seconds=0.05, workers=3)
    assert result.sent == 20 == len(seen) == len(result.latencies_ms)
    assert result.ok + result.errors == 20
    with pytest.raises(ValueError, match="workers"):
        open_loop_threads(call, rate=10, seconds=1, workers=0)


def test_open_loop_callbacks_takes_latency_when_done_is_called_and_counts_silence_as_errors():
    from skewless.serving.bench import open_loop_callbacks

    started: list[int] = []

    def start(done) -> None:
        started.append(1)
        if len(started) % 2:
            done(True)  # even calls never answer

    result = open_loop_callbacks(start, rate=200, seconds=0.05, grace_s=0.05)
    assert result.sent == 10 == len(started) and result.ok == 5 and result.errors == 5 and len(result.latencies_ms) == 5
