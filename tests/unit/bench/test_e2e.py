"""Pure parts of bench.e2e: no stack, no timing."""

from __future__ import annotations

import pytest

from bench.e2e import (
    E2EError,
    RateSchedule,
    bucket_increase,
    histogram,
    job_freshness_figures,
    overlaps,
    percentile,
    plan_topic,
    sample_every,
    task_label,
    topic_name,
)
from bench.workload import Workload


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [5, 1, 4, 2, 3]  # unsorted on purpose
    assert percentile(values, 0) == 1
    assert percentile(values, 50) == 3
    assert percentile(values, 100) == 5
    assert percentile(values, 25) == 2
    assert percentile([10, 20], 99) == pytest.approx(19.9)
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize("q", [-1, 100.1])
def test_percentile_rejects_bad_input(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1], q)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_rate_schedule_is_open_loop() -> None:
    schedule = RateSchedule(4.0)
    assert schedule.due(-0.1) == 0
    assert schedule.due(0) == 1  # the first event goes at once
    assert schedule.due(0.2499) == 1
    assert schedule.due(0.25) == 2
    assert schedule.due(10) == 41  # a producer that wakes late owes everything due since
    assert [schedule.at(i) for i in range(3)] == [0.0, 0.25, 0.5]
    # due(at(i)) counts event i itself, for rates whose periods are not exact in binary
    odd = RateSchedule(734.3)
    assert all(odd.due(odd.at(i)) == i + 1 for i in range(5000))
    with pytest.raises(ValueError):
        RateSchedule(0)


def test_sample_every() -> None:
    assert sample_every(500, 5) == 100
    assert sample_every(3, 5) == 1
    assert sample_every(7_512.4, 5) == 1502
    with pytest.raises(ValueError):
        sample_every(0, 5)


def test_topic_name_follows_the_workload() -> None:
    small = topic_name(Workload(events=50_000, users=10_000))
    assert small == topic_name(Workload(events=50_000, users=10_000))
    assert small != topic_name(Workload(events=50_000, users=1_000))
    assert small != topic_name(Workload(events=50_001, users=10_000))
    assert small != topic_name(Workload(events=50_000, users=10_000, seed=8))
    assert "50000ev" in small and "10000u" in small


def test_plan_topic() -> None:
    assert plan_topic(None, 100) == "produce"
    assert plan_topic(100, 100) == "reuse"
    assert plan_topic(60, 100) == "recreate"  # a produce that was interrupted
    assert plan_topic(0, 100) == "recreate"
    assert plan_topic(200, 100) == "recreate"


def test_histogram_buckets() -> None:
    counts = histogram([5, 10, 11, 5000, 10**6], edges=(10, 100))
    assert counts == {"le00010ms": 2, "le00100ms": 1, "gt00100ms": 2}


def test_overlaps() -> None:
    windows = [(10.0, 12.0), (20.0, 21.0)]
    assert overlaps(9.0, 10.0, windows)  # touches the start
    assert overlaps(11.0, 11.5, windows)  # inside
    assert overlaps(5.0, 30.0, windows)  # spans both
    assert not overlaps(12.5, 19.9, windows)  # between
    assert not overlaps(1.0, 2.0, [])


def test_task_label() -> None:
    assert task_label("Source: t_raw[1] -> Calc[2] -> decode t -> (Map, logic v)") == "source"
    assert task_label("tiles v -> (cassandra v: Writer, *anonymous_datastream_source$2*[4] -> Calc[5])") == "tiles"
    assert task_label("ns.v_history: Sink pre-commit aggregator: ns.v_history") == "iceberg-pre-commit"
    assert task_label("ns.v_history: Committer") == "iceberg-committer"
    assert task_label("*anonymous_datastream_source$3*[7] -> t_dead_letters[8]: Writer -> t_dead_letters[8]: Committer") == "dead-letters"


def test_the_measured_window_is_the_increase_of_each_bucket() -> None:
    before = {"0.1": 5.0, "0.25": 8.0, "+Inf": 10.0}
    after = {"0.1": 95.0, "0.25": 107.0, "+Inf": 110.0}
    assert bucket_increase(before, after) == {"0.1": 90.0, "0.25": 99.0, "+Inf": 100.0}
    assert bucket_increase({}, after) == after  # the first read before any write: nothing to subtract


def test_job_freshness_quantiles_interpolate_within_buckets_and_compare_with_the_poller() -> None:
    # 100 writes: 50 within 100 ms, 49 more within 250 ms, 1 within 500 ms.
    figures = job_freshness_figures({"0.1": 50.0, "0.25": 99.0, "0.5": 100.0, "+Inf": 100.0}, poller_p99_ms=300.0)
    assert figures["freshness_p50_ms"] == 100.0
    assert figures["freshness_p99_ms"] == 250.0
    assert figures["freshness_observations"] == 100
    assert figures["freshness_p99_vs_poller_p99"] == round(250 / 300, 3)


def test_no_freshness_observation_is_an_error_not_a_zero() -> None:
    with pytest.raises(E2EError, match="no freshness observation"):
        job_freshness_figures({"0.1": 0.0, "+Inf": 0.0}, poller_p99_ms=100.0)
