"""bench.serving's pure parts: argument checks, the stepped-counter rate, the probe verdict, target checks,
merged rounds and CPU pinning."""

from __future__ import annotations

import argparse

import pytest

import os

from bench.serving import (keeps_up, merge_results, parse_cpus, phase_figures, pin_threads, positive_seconds,
                           rate_between, unpin_threads, verdicts)
from skewless.serving.bench import LoadResult


def test_seconds_must_be_a_positive_finite_number():
    assert positive_seconds("25") == 25.0
    assert positive_seconds("0.5") == 0.5
    for raw in ("0", "-3", "nan", "inf", "soon", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_seconds(raw)


def test_rate_between_spans_the_first_and_last_step_inside_the_window():
    # A counter committed every 10 s at 300 events/s, polled every 2 s.
    samples = [(t, 3000 * (t // 10)) for t in range(0, 61, 2)]
    assert rate_between(samples, 5, 55) == pytest.approx(300.0)  # steps at 10 .. 50
    assert rate_between(samples, 0, 60) == pytest.approx(300.0)
    assert rate_between(samples, 11, 19) is None  # no step inside
    assert rate_between(samples, 9, 21) == pytest.approx(300.0)  # two steps: 10 and 20
    assert rate_between([], 0, 10) is None


def test_keeps_up_rejects_a_growing_queue_and_a_high_p99():
    steady = [5.0, 6.0, 5.0] * 30
    assert keeps_up(steady, limit_ms=100)
    growing = [float(i) for i in range(1, 91)]  # latency climbing: the queue builds up
    assert not keeps_up(growing, limit_ms=1000)
    assert not keeps_up([200.0] * 90, limit_ms=100)
    assert not keeps_up([1.0, 1.0], limit_ms=100)  # too few to tell


def test_phase_figures_and_verdicts():
    summary = {"p50_ms": 0.9, "p90_ms": 1.2, "p99_ms": 1.8, "p999_ms": 3.0, "max_ms": 9.0, "mean_ms": 1.0,
               "sent": 100, "errors": 0}
    figures = phase_figures("sdk", summary, 25.0)
    assert figures["sdk_p99_ms"] == 1.8 and figures["sdk_requests"] == 100 and figures["sdk_seconds"] == 25.0
    assert verdicts({**figures, "http_p99_ms": 6.0}) == {"sdk_p99_ms_target_met": True, "http_p99_ms_target_met": False}


def test_parse_cpus_names_the_stream_side_cpus():
    two = frozenset({0, 1})
    assert parse_cpus("none", two) == frozenset()
    assert parse_cpus("last", two) == {1}
    assert parse_cpus("last", frozenset({0})) == frozenset()  # one CPU: nothing to keep apart
    assert parse_cpus("1", two) == {1}
    assert parse_cpus(" 0-1 ", two) == {0, 1}
    assert parse_cpus("0,2-3", frozenset(range(4))) == {0, 2, 3}
    for raw in ("2", "one", "", "1-", "0,,1", "1-0"):
        with pytest.raises(ValueError, match="--stream-cpus|CPUs"):
            parse_cpus(raw, two)


def test_merge_results_joins_the_rounds_of_a_path():
    merged = merge_results([LoadResult(3, 3, 0, [1.0, 2.0, 3.0], 1.5), LoadResult(2, 1, 1, [4.0], 1.0)])
    assert (merged.sent, merged.ok, merged.errors, merged.latencies_ms, merged.seconds) == (5, 4, 1, [1.0, 2.0, 3.0, 4.0], 2.5)


def test_pin_threads_holds_and_gives_back_a_process_cpus():
    pid = os.getpid()
    before = os.sched_getaffinity(0)
    one = frozenset({min(before)})
    previous = pin_threads(pid, one)
    try:
        assert os.sched_getaffinity(0) == one
        assert previous[pid] == before
    finally:
        unpin_threads(pid, previous)
    assert os.sched_getaffinity(0) == before
