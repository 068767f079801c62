"""The point-in-time join against the brute-force oracle, on random histories: both engines
(the numpy sorted merge for event_time, DuckDB's ASOF JOIN) and the packed-key fallback."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skewless.training import pit
from skewless.training.pit import point_in_time_join
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update, oracle, random_history, random_label_times

FEATURES = ["avg_amount", "n_events"]


def run_join(
    history: list[Update], keys: list, times: list[int], ttl_ms: int | None, as_of: str, engine: str = "auto"
) -> list:
    """Join through point_in_time_join; keys are strings or (tenant, user) tuples."""
    composite = any(isinstance(k, tuple) for k in keys)
    key_names = ["tenant", "user_id"] if composite else ["user_id"]

    def key_columns(values: list) -> dict:
        parts = list(zip(*values)) if composite and values else [[] for _ in key_names]
        return dict(zip(key_names, parts)) if composite else {"user_id": values}

    utc_us = pa.timestamp("us", "UTC")
    schema = pa.schema(
        [(n, pa.string()) for n in key_names]
        + [("avg_amount", pa.float64()), ("n_events", pa.int64()), ("valid_from", utc_us),
           ("written_at", utc_us), ("version", pa.int64())]
    )
    hist = pa.table(
        {
            **key_columns([u.key for u in history]),
            "avg_amount": [u.features[0] for u in history],
            "n_events": [u.features[1] for u in history],
            "valid_from": pa.array([u.valid_from * 1000 for u in history], pa.int64()).cast(utc_us),
            "written_at": pa.array([u.written_at * 1000 for u in history], pa.int64()).cast(utc_us),
            "version": [u.version for u in history],
        },
        schema=schema,
    )
    labels = pa.table(key_columns(keys), schema=pa.schema([(n, pa.string()) for n in key_names]))
    ts_us = pa.array([t * 1000 for t in times], pa.int64())
    ttl_us = None if ttl_ms is None else ttl_ms * 1000
    out = point_in_time_join(labels, ts_us, hist, key_names, FEATURES, ttl_us, as_of, engine)
    return [None if row["n_events"] is None else (row["avg_amount"], row["n_events"]) for row in out.to_pylist()]


@settings(max_examples=200, deadline=None)
@given(
    rng=st.randoms(use_true_random=False),
    as_of=st.sampled_from(["event_time", "known_time"]),
    ttl_ms=st.one_of(st.none(), st.integers(1, 40)),
    n_updates=st.integers(0, 60),
    composite=st.booleans(),
    engine=st.sampled_from(["auto", "duckdb"]),
)
def test_join_matches_oracle(
    rng: random.Random, as_of: str, ttl_ms: int | None, n_updates: int, composite: bool, engine: str
) -> None:
    keys = [("t1", "a"), ("t1", "b"), ("t2", "a")] if composite else ["a", "b", "c", "d"]
    history = random_history(rng, keys, n_updates, span_ms=60)
    times = random_label_times(rng, history, ttl_ms, 25, span_ms=60)
    label_keys = [rng.choice(keys) for _ in times]
    got = run_join(history, label_keys, times, ttl_ms, as_of, engine)
    want = [oracle(history, k, t, ttl_ms, as_of) for k, t in zip(label_keys, times)]
    assert got == want


def test_ttl_bound_is_inclusive() -> None:
    history = [Update("a", BASE_MS, BASE_MS, 1, (1.0, 1))]
    times = [BASE_MS, BASE_MS + 10, BASE_MS + 11, BASE_MS - 1]
    assert run_join(history, ["a"] * 4, times, 10, "event_time") == [(1.0, 1), (1.0, 1), None, None]


def test_expired_value_does_not_fall_back_to_an_older_one() -> None:
    history = [Update("a", BASE_MS, BASE_MS, 1, (1.0, 1)), Update("a", BASE_MS + 5, BASE_MS + 5, 2, (2.0, 2))]
    assert run_join(history, ["a"], [BASE_MS + 20], 10, "event_time") == [None]


def test_same_ms_ties_take_highest_written_at_then_version() -> None:
    history = [
        Update("a", BASE_MS, BASE_MS + 9, 1, (1.0, 1)),   # latest write of valid_from=BASE
        Update("a", BASE_MS, BASE_MS + 2, 7, (2.0, 2)),
        Update("b", BASE_MS, BASE_MS, 3, (3.0, 3)),
        Update("b", BASE_MS, BASE_MS, 4, (4.0, 4)),       # same write time: higher version
    ]
    assert run_join(history, ["a", "b"], [BASE_MS + 100] * 2, None, "event_time") == [(1.0, 1), (4.0, 4)]


def test_known_time_hides_corrections_written_later() -> None:
    history = [
        Update("a", BASE_MS, BASE_MS, 1, (1.0, 1)),
        Update("a", BASE_MS, BASE_MS + 50, 2, (9.0, 9)),  # a late correction of the same instant
    ]
    times = [BASE_MS + 10, BASE_MS + 50]
    assert run_join(history, ["a", "a"], times, None, "known_time") == [(1.0, 1), (9.0, 9)]
    assert run_join(history, ["a", "a"], times, None, "event_time") == [(9.0, 9), (9.0, 9)]


def test_labels_before_any_history_and_unknown_entities_are_null() -> None:
    history = [Update("a", BASE_MS, BASE_MS, 1, (1.0, 1))]
    assert run_join(history, ["a", "zz"], [BASE_MS - 1, BASE_MS], None, "event_time") == [None, None]
    assert run_join([], ["a"], [BASE_MS], None, "event_time") == [None]


def test_null_feature_values_are_kept_not_skipped() -> None:
    history = [Update("a", BASE_MS, BASE_MS, 1, (1.0, 1)), Update("a", BASE_MS + 1, BASE_MS + 1, 2, (None, 2))]
    assert run_join(history, ["a"], [BASE_MS + 1], None, "event_time") == [(None, 2)]


@pytest.mark.parametrize("engine", ["auto", "duckdb"])
def test_ties_and_ttl_on_either_engine(engine: str) -> None:
    history = [
        Update("a", BASE_MS, BASE_MS + 9, 1, (1.0, 1)),
        Update("a", BASE_MS, BASE_MS + 2, 7, (2.0, 2)),
        Update("b", BASE_MS, BASE_MS, 4, (4.0, 4)),
        Update("b", BASE_MS, BASE_MS, 3, (3.0, 3)),
        Update("b", BASE_MS + 5, BASE_MS + 5, 5, (5.0, 5)),
    ]
    got = run_join(history, ["a", "b", "b", "b"], [BASE_MS + 10, BASE_MS + 4, BASE_MS + 15, BASE_MS + 16], 10, "event_time", engine)
    assert got == [(1.0, 1), (4.0, 4), (5.0, 5), None]


def test_a_time_span_too_wide_to_pack_falls_back_to_duckdb(monkeypatch) -> None:
    monkeypatch.setattr(pit, "PACKED_BITS", 8)  # 2 codes x a 60 ms span no longer fits
    rng = random.Random(4)
    history = random_history(rng, ["a", "b"], 40, span_ms=60)
    times = random_label_times(rng, history, 20, 30, span_ms=60)
    keys = [rng.choice(["a", "b"]) for _ in times]
    assert pit._packed_event_time(np.zeros(1, np.int64), np.zeros(1, np.int64),
                                  pit.HistoryRows(np.zeros(2, np.int64), np.array([0, 10**6]), np.zeros(2, np.int64),
                                                  np.zeros(2, np.int64), pa.table({"x": [1, 2]})), None) is None
    assert run_join(history, keys, times, 20, "event_time") == [oracle(history, k, t, 20, "event_time") for k, t in zip(keys, times)]
