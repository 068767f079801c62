"""A real PyFlink job appends update rows to the Iceberg history through Java's JdbcCatalog
on a SQLite file; pyiceberg then reads exactly those rows back, and training sets built
from them match the brute-force oracle.

The session fixture in tests/integration/conftest.py points PyFlink at the assembled
Flink runtime (wheel jars + jvm/flink/pom.xml) before the gateway starts.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import StreamTableEnvironment

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.flink_sink import add_history_sink, update_row, update_row_type
from connectors.iceberg.history import Column, HistoryTable
from skewless.training import join_history
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update, oracle, random_history, random_label_times

HOUR = 3_600_000
VIEW = HistoryTable(
    "user_stats",
    keys=(Column("user_id", "string"),),
    features=(Column("avg_amount", "double"), Column("n_events", "long")),
)


def _updates() -> list[Update]:
    """Random updates over four days, with same-ms ties, late corrections and null
    features, plus two fixed rows the assertions name."""
    rng = random.Random(20240501)
    history = random_history(rng, ["u1", "u2", "u3", "u4"], 150, span_ms=4 * 24 * HOUR)
    history += [
        Update("u9", BASE_MS, BASE_MS, 10_001, (1.0, 1)),
        Update("u9", BASE_MS, BASE_MS + HOUR, 10_002, (2.0, 2)),  # correction written an hour later
    ]
    return history


def _environment(parallelism: int) -> tuple[StreamExecutionEnvironment, StreamTableEnvironment]:
    # No restarts: a failure must fail the test, not replay the (non-replayable) collection.
    config = Configuration()
    config.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    env.enable_checkpointing(500)
    t_env = StreamTableEnvironment.create(env)
    # Instants must survive whatever zone the session renders TIMESTAMP_LTZ in.
    t_env.get_config().set("table.local-time-zone", "America/New_York")
    return env, t_env


@pytest.mark.timeout(240)
def test_bounded_job_commits_every_update_visible_to_pyiceberg(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path / "state")
    history = _updates()
    rows = [
        update_row(VIEW, user_id=u.key, avg_amount=u.features[0], n_events=u.features[1],
                   valid_from=u.valid_from, written_at=u.written_at, version=u.version)
        for u in history
    ]
    env, t_env = _environment(parallelism=2)
    statements = t_env.create_statement_set()
    updates = env.from_collection(rows, type_info=update_row_type(VIEW))
    path = add_history_sink(t_env, statements, updates, cfg, VIEW)
    add_history_sink(t_env, t_env.create_statement_set(), updates, cfg, VIEW)  # idempotent setup
    assert path == "`skewless`.`skewless`.`user_stats_history`"

    statements.execute().wait()

    table = load_pyiceberg_catalog(cfg).load_table("skewless.user_stats_history")
    read = table.scan().to_arrow()
    ms = {n: pc.divide(read[n].cast(pa.int64()), 1000).to_pylist() for n in ("valid_from", "written_at")}
    got = Counter(
        zip(read["user_id"].to_pylist(), read["avg_amount"].to_pylist(), read["n_events"].to_pylist(),
            ms["valid_from"], ms["written_at"], read["version"].to_pylist())
    )
    want = Counter((u.key, *u.features, u.valid_from, u.written_at, u.version) for u in history)
    assert got == want  # every update exactly once: the final checkpoint committed the tail

    summaries = [s.summary.additional_properties for s in table.snapshots()]
    assert summaries and all(s["engine-name"] == "flink" for s in summaries)
    assert len({task.file.partition for task in table.scan().plan_files()}) >= 4  # day partitions

    rng = random.Random(7)
    for as_of in ("event_time", "known_time"):
        for ttl_ms in (None, 12 * HOUR):
            times = random_label_times(rng, history, ttl_ms, 150, span_ms=4 * 24 * HOUR)
            keys = [rng.choice(["u1", "u2", "u3", "u4", "u9", "nobody"]) for _ in times]
            labels = pd.DataFrame({"user_id": keys, "timestamp": times, "label": range(len(times))})
            result = join_history(labels, "user_stats", cfg, ttl=ttl_ms, as_of=as_of)
            assert result.column("label").to_pylist() == list(range(len(times)))
            rows_out = result.select(["avg_amount", "n_events"]).to_pylist()
            got_features = [None if r["n_events"] is None else (r["avg_amount"], r["n_events"]) for r in rows_out]
            assert got_features == [oracle(history, k, t, ttl_ms, as_of) for k, t in zip(keys, times)]

    # The correction of u9 is seen "as it happened" but not before it was written.
    probe = pd.DataFrame({"user_id": ["u9"], "timestamp": [BASE_MS + 1]})
    assert join_history(probe, "user_stats", cfg, None)["n_events"].to_pylist() == [2]
    assert join_history(probe, "user_stats", cfg, None, as_of="known_time")["n_events"].to_pylist() == [1]


def test_sink_refuses_a_job_without_checkpointing(tmp_path: Path) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    assert not env.get_checkpoint_config().is_checkpointing_enabled()
    t_env = StreamTableEnvironment.create(env)
    updates = env.from_collection([], type_info=update_row_type(VIEW))
    with pytest.raises(IcebergError, match="commits only on checkpoints"):
        add_history_sink(t_env, t_env.create_statement_set(), updates, CatalogConfig(state_dir=tmp_path), VIEW)


@pytest.mark.timeout(120)
def test_an_update_without_its_key_fails_the_job_loudly(tmp_path: Path) -> None:
    env, t_env = _environment(parallelism=1)
    rows = [
        update_row(VIEW, user_id="u1", avg_amount=1.0, n_events=1, valid_from=BASE_MS, written_at=BASE_MS, version=1),
        update_row(VIEW, user_id=None, avg_amount=2.0, n_events=2, valid_from=BASE_MS, written_at=BASE_MS, version=2),
    ]
    statements = t_env.create_statement_set()
    add_history_sink(t_env, statements, env.from_collection(rows, type_info=update_row_type(VIEW)),
                     CatalogConfig(state_dir=tmp_path), VIEW)
    with pytest.raises(Exception, match="Column 'user_id' is NOT NULL"):
        statements.execute().wait()


LIST_VIEW = HistoryTable(
    "recent_amounts",
    keys=(Column("user_id", "string"),),
    features=(Column("last3", "list<double>"), Column("n_events", "long")),
)


@pytest.mark.timeout(240)
def test_list_features_round_trip_through_flink_iceberg_and_training_sets(tmp_path: Path) -> None:
    """list<double> values (last_n), typed as the job emits them (Types.LIST(Types.DOUBLE())),
    come back from pyiceberg and get_historical_features exactly: [] stays [], null stays null."""
    cfg = CatalogConfig(state_dir=tmp_path / "state")
    written = [  # (user, last3, n_events, valid_from, written_at, version)
        ("u1", [3.5, 2.0, -1.25], 3, BASE_MS, BASE_MS, 1),
        ("u1", [], 0, BASE_MS + HOUR, BASE_MS + HOUR, 2),  # the window emptied
        ("u2", None, None, BASE_MS, BASE_MS, 1),  # no value at all
        ("u3", [0.0], 1, BASE_MS + 2 * 24 * HOUR, BASE_MS + 2 * 24 * HOUR, 1),  # another day partition
        ("u3", [], 0, BASE_MS + 3 * 24 * HOUR, BASE_MS + 3 * 24 * HOUR + HOUR, 2),  # written an hour late
    ]
    rows = [
        update_row(LIST_VIEW, user_id=u, last3=xs, n_events=n, valid_from=vf, written_at=wa, version=v)
        for u, xs, n, vf, wa, v in written
    ]
    env, t_env = _environment(parallelism=2)
    statements = t_env.create_statement_set()
    add_history_sink(t_env, statements, env.from_collection(rows, type_info=update_row_type(LIST_VIEW)),
                     cfg, LIST_VIEW)
    statements.execute().wait()

    table = load_pyiceberg_catalog(cfg).load_table("skewless.recent_amounts_history")
    assert HistoryTable.from_iceberg(table) == LIST_VIEW
    read = table.scan().to_arrow()
    assert pa.types.is_large_list(read.schema.field("last3").type)
    ms = {n: pc.divide(read[n].cast(pa.int64()), 1000).to_pylist() for n in ("valid_from", "written_at")}
    got = sorted(
        zip(read["user_id"].to_pylist(), read["last3"].to_pylist(), read["n_events"].to_pylist(),
            ms["valid_from"], ms["written_at"], read["version"].to_pylist()),
        key=lambda r: (r[0], r[3]),
    )
    assert got == written  # [] and null are distinct values in Iceberg

    labels = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u3", "u3", "u3", "nobody"],
        "timestamp": [BASE_MS, BASE_MS + HOUR, BASE_MS + 5, BASE_MS + 2 * 24 * HOUR,
                      BASE_MS + 3 * 24 * HOUR, BASE_MS + 3 * 24 * HOUR + HOUR, BASE_MS],
    })
    expected = {
        "event_time": [[3.5, 2.0, -1.25], [], None, [0.0], [], [], None],
        "known_time": [[3.5, 2.0, -1.25], [], None, [0.0], [0.0], [], None],  # u3's [] not yet written
    }
    for as_of, want in expected.items():
        result = join_history(labels, "recent_amounts", cfg, None, as_of=as_of)
        assert result.schema.field("last3").type == pa.list_(pa.float64())
        assert result["last3"].to_pylist() == want
    # An entity whose value expired has null, not [], offline (the online reader has no row then).
    expired = join_history(labels.iloc[[1]], "recent_amounts", cfg, ttl=HOUR - 1)
    assert expired["last3"].to_pylist() == [[]]
    late = pd.DataFrame({"user_id": ["u1"], "timestamp": [BASE_MS + 2 * HOUR + 1]})
    assert join_history(late, "recent_amounts", cfg, ttl=HOUR)["last3"].to_pylist() == [None]
