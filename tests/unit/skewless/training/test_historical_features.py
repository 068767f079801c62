"""get_historical_features on real (small) Iceberg tables in a SQLite catalog, no JVM."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from connectors.iceberg.history import Column, HistoryTable
from skewless.training import TrainingSetError, get_historical_features, historical, join_history
from skewless.training.keys import KeyCoder
from tests.unit.skewless.training.conftest import USER_STATS
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update, oracle, random_history, random_label_times

HOUR = 3_600_000


def features_of(result: pa.Table, names=("avg_amount", "n_events")) -> list:
    rows = result.select(list(names)).to_pylist()
    return [None if r[names[-1]] is None else tuple(r[n] for n in names) for r in rows]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("as_of", ["event_time", "known_time"])
def test_matches_oracle_on_random_histories(write_history, catalog_cfg, seed: int, as_of: str) -> None:
    rng = random.Random(seed)
    keys = [f"u{i}" for i in range(8)]
    span = 5 * 24 * HOUR  # several day partitions
    history = random_history(rng, keys, 300, span_ms=span)
    write_history(history, batches=4)
    ttl_ms = rng.choice([None, 6 * HOUR, 36 * HOUR])
    times = random_label_times(rng, history, ttl_ms, 200, span_ms=span)
    label_keys = [rng.choice(keys + ["never_seen"]) for _ in times]
    labels = pd.DataFrame({"user_id": label_keys, "timestamp": times, "label": range(len(times))})

    result = join_history(labels, "user_stats", catalog_cfg, ttl=ttl_ms, as_of=as_of)

    assert features_of(result) == [oracle(history, k, t, ttl_ms, as_of) for k, t in zip(label_keys, times)]


def test_labels_keep_order_and_pass_through_columns(write_history, catalog_cfg) -> None:
    write_history([
        Update("a", BASE_MS, BASE_MS, 1, (1.0, 1)),
        Update("b", BASE_MS + HOUR, BASE_MS + HOUR, 2, (2.0, 2)),
    ])
    labels = pa.table({
        "when_seen": pa.array([BASE_MS + 2 * HOUR, BASE_MS - 1, BASE_MS + HOUR], pa.int64()),
        "user_id": ["b", "a", "a"],
        "timestamp": pa.array([BASE_MS + 2 * HOUR, BASE_MS - 1, BASE_MS + HOUR], pa.int64()),
        "label": [0.5, None, 1.5],
        "note": ["x", "y", None],
    })
    result = join_history(labels, "user_stats", catalog_cfg, ttl=timedelta(days=1))
    assert result.select(labels.column_names).equals(labels)
    assert result.column_names == [*labels.column_names, "avg_amount", "n_events"]
    assert features_of(result) == [(2.0, 2), None, (1.0, 1)]


def test_tz_aware_timestamps_equal_epoch_ms(write_history, catalog_cfg) -> None:
    write_history([Update("a", BASE_MS, BASE_MS, 1, (1.0, 1))])
    ttl = timedelta(hours=1)
    as_ms = [BASE_MS - 1, BASE_MS, BASE_MS + HOUR, BASE_MS + HOUR + 1]
    paris = [pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert("Europe/Paris") for ms in as_ms]
    by_ms = join_history(pd.DataFrame({"user_id": "a", "timestamp": as_ms}), "user_stats", catalog_cfg, ttl)
    by_tz = join_history(pd.DataFrame({"user_id": "a", "timestamp": paris}), "user_stats", catalog_cfg, ttl)
    assert features_of(by_ms) == features_of(by_tz) == [None, (1.0, 1), (1.0, 1), None]


def test_sub_millisecond_history_and_nanosecond_labels(write_history, catalog_cfg) -> None:
    """Iceberg keeps microseconds: a label 1 us before an update must not see it."""
    table = write_history([])
    vf = datetime(2024, 3, 1, 12, 0, 0, 1, tzinfo=UTC)  # .000001
    row = {"user_id": "a", "avg_amount": 1.0, "n_events": 1, "valid_from": vf, "written_at": vf, "version": 1}
    table.append(pa.Table.from_pylist([row], schema=table.schema().as_arrow()))
    labels = pd.DataFrame({"user_id": ["a", "a"], "timestamp": pd.to_datetime(
        ["2024-03-01T12:00:00.000000999Z", "2024-03-01T12:00:00.000001Z"])})
    result = join_history(labels, "user_stats", catalog_cfg, ttl=None)
    assert features_of(result) == [None, (1.0, 1)]


def test_composite_and_integer_keys(write_history, catalog_cfg) -> None:
    view = HistoryTable("orders", keys=(Column("shop", "long"), Column("sku", "string")),
                        features=(Column("avg_amount", "double"), Column("n_events", "long")))
    write_history([
        Update((1, "x"), BASE_MS, BASE_MS, 1, (1.0, 1)),
        Update((2, "x"), BASE_MS, BASE_MS, 2, (2.0, 2)),
        Update((1, "y"), BASE_MS, BASE_MS, 3, (3.0, 3)),
    ], history=view)
    labels = pa.table({"shop": pa.array([2, 1, 1, 3], pa.int32()), "sku": ["x", "y", "x", "x"],
                       "timestamp": [BASE_MS] * 4})
    result = join_history(labels, "orders", catalog_cfg, ttl=None)
    assert features_of(result) == [(2.0, 2), (3.0, 3), (1.0, 1), None]


def test_scan_is_pruned_to_label_days_and_entities(write_history, catalog_cfg, monkeypatch) -> None:
    day = 24 * HOUR
    table = write_history([Update(f"u{d}", BASE_MS + d * day, BASE_MS + d * day, d, (float(d), d)) for d in range(10)])
    labels = pd.DataFrame({"user_id": ["u5"], "timestamp": [BASE_MS + 5 * day + HOUR]})
    ts = historical.label_times_us(pa.Table.from_pandas(labels), "timestamp")
    expr = historical._row_filter(
        KeyCoder(pa.table({"user_id": ["u5"]})), historical._time_filter(ts, 2 * HOUR * 1000, "event_time")
    )
    planned = list(table.scan(row_filter=expr).plan_files())
    assert len(planned) == 1 and len(list(table.scan().plan_files())) == 10
    assert features_of(join_history(labels, "user_stats", catalog_cfg, ttl=2 * HOUR)) == [(5.0, 5)]


def test_many_entities_fall_back_to_a_time_only_filter(write_history, catalog_cfg, monkeypatch) -> None:
    monkeypatch.setattr(historical, "MAX_KEYS_IN_FILTER", 2)
    write_history([Update(f"u{i}", BASE_MS, BASE_MS, i, (float(i), i)) for i in range(5)])
    labels = pd.DataFrame({"user_id": [f"u{i}" for i in range(5)], "timestamp": [BASE_MS] * 5})
    result = join_history(labels, "user_stats", catalog_cfg, ttl=None)
    assert features_of(result) == [(float(i), i) for i in range(5)]


def test_empty_labels_and_empty_history(write_history, catalog_cfg) -> None:
    write_history([])
    empty = pa.table({"user_id": pa.array([], pa.string()), "timestamp": pa.array([], pa.int64())})
    assert join_history(empty, "user_stats", catalog_cfg, ttl=None).num_rows == 0
    one = pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]})
    assert features_of(join_history(one, "user_stats", catalog_cfg, ttl=None)) == [None]


def test_given_history_table_must_match_the_stored_one(write_history, catalog_cfg) -> None:
    write_history([])
    labels = pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]})
    assert join_history(labels, USER_STATS, catalog_cfg, ttl=None).num_rows == 1
    other = HistoryTable("user_stats", keys=USER_STATS.keys, features=USER_STATS.features[:1])
    with pytest.raises(TrainingSetError, match="differs from its history table"):
        join_history(labels, other, catalog_cfg, ttl=None)


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        (pd.DataFrame({"user_id": ["a"]}), {}, "no 'timestamp' column"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [pd.Timestamp("2024-01-01")]}), {}, "naive timestamps"),
        (pd.DataFrame({"user_id": ["a", "b"], "timestamp": [float(BASE_MS), None]}), {}, "missing values"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [1.7e12]}), {}, "float column"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": ["2024-01-01"]}), {}, "use integer epoch milliseconds"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS // 1000]}), {}, "convert seconds"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS * 1000]}), {}, "microseconds"),
        (pd.DataFrame({"user_id": ["a", None], "timestamp": [BASE_MS] * 2}), {}, "'user_id' has 1 missing"),
        (pd.DataFrame({"user_id": [7], "timestamp": [BASE_MS]}), {}, "type int64 but the history key"),
        (pd.DataFrame({"uid": ["a"], "timestamp": [BASE_MS]}), {}, "lack the entity key columns"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS], "n_events": [1]}), {}, "named like features"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]}), {"as_of": "processing"}, "as_of must be one of"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]}), {"ttl": -5}, "ttl must be positive"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]}), {"ttl": "1d"}, "ttl must be a timedelta"),
        ([("a", BASE_MS)], {}, "pandas DataFrame or a pyarrow Table"),
        (pd.DataFrame({"user_id": ["a"], "timestamp": [BASE_MS]}), {"view": "nope"}, "has no history table"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(write_history, catalog_cfg, labels, kwargs, message) -> None:
    write_history([])
    args = {"view": "user_stats", "ttl": None} | kwargs
    with pytest.raises(TrainingSetError, match=message):
        join_history(labels, args.pop("view"), catalog_cfg, **args)


def test_a_view_by_name_brings_its_ttl_and_the_settings_catalog(example_catalogue, monkeypatch) -> None:
    """get_historical_features resolves the view in the registry: nobody retypes its TTL."""
    from skewless.training import historical

    calls = []
    monkeypatch.setattr(historical, "join_history", lambda *args, **kw: calls.append((args, kw)))
    historical.get_historical_features(pd.DataFrame({"user_id": ["a"], "timestamp": [1]}), "user_transactions")
    (labels, table, cfg, ttl, as_of), _ = calls[0]
    spec = example_catalogue.spec("user_transactions")
    assert (table, ttl, as_of) == (spec.name, spec.ttl_ms, "event_time") and spec.ttl_ms
    assert cfg.namespace == "skewless"


def test_an_unknown_view_says_how_to_register_it(example_catalogue) -> None:
    from skewless.registry.errors import RegistryError

    with pytest.raises(RegistryError, match="no_such_view"):
        get_historical_features(pd.DataFrame({"user_id": ["a"], "timestamp": [1]}), "no_such_view")
