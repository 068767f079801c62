"""Compaction of a history that a real Flink job wrote through the project's sink (Iceberg's
Java writer: arrival order, one byte-sized row group per file, sort order id 0).

Checked: the same rows before and after, sorted marked files, identical training sets
(event_time and known_time), a second run that changes nothing, far fewer history rows
read by the training reader, and compaction running while a Flink job commits into the
same partitions at every checkpoint.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyflink.common import Row

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
import connectors.iceberg.compaction as compaction
from connectors.iceberg.compaction import compact_history
from connectors.iceberg.flink_sink import add_history_sink, update_row, update_row_type
from skewless.training import join_history
from skewless.training.scan import HistoryReader
from tests.integration.connectors.iceberg.test_flink_history import VIEW, _environment
from tests.unit.skewless.training.pit_oracle import BASE_MS

DAY = 86_400_000
KEYS = [f"user{i:03d}" for i in range(200)]


def _rows(rng: random.Random, n: int, first_version: int, days: int = 4) -> list[Row]:
    """Updates in arrival order: random keys, valid_from over `days` days, some written late."""
    out = []
    for i in range(n):
        valid_from = BASE_MS + rng.randrange(days * DAY)
        written_at = valid_from + rng.choice([0, 0, 5, rng.randrange(DAY)])
        out.append(update_row(VIEW, user_id=rng.choice(KEYS), avg_amount=rng.random(), n_events=rng.randrange(50),
                              valid_from=valid_from, written_at=written_at, version=first_version + i))
    return out


def _write_with_flink(cfg: CatalogConfig, rows: list[Row]):
    """Submit a Flink job appending `rows` to the history; returns its TableResult (running)."""
    env, t_env = _environment(parallelism=2)
    statements = t_env.create_statement_set()
    add_history_sink(t_env, statements, env.from_collection(rows, type_info=update_row_type(VIEW)), cfg, VIEW)
    return statements.execute()


def _generated(version: int) -> tuple:
    """The update `_trickle` generates for a version, as `_multiset` reads it back."""
    valid_from = BASE_MS + version * 3_600_017 % (4 * DAY)  # about an hour apart
    written_at = valid_from + version % 1000
    return f"user{version * 31 % 200:03d}", version / 8, version % 50, valid_from * 1000, written_at * 1000, version


def _trickle(cfg: CatalogConfig, first_version: int, n: int, per_second: int):
    """Submit a Flink job appending generated updates at a steady rate (datagen), so that its
    checkpoints commit into every day partition while it runs; returns its TableResult."""
    env, t_env = _environment(parallelism=2)
    env.enable_checkpointing(200)
    t_env.execute_sql(f"""
        CREATE TEMPORARY TABLE gen (version BIGINT) WITH (
          'connector' = 'datagen', 'rows-per-second' = '{per_second}', 'fields.version.kind' = 'sequence',
          'fields.version.start' = '{first_version}', 'fields.version.end' = '{first_version + n - 1}')""")
    generated = t_env.sql_query(f"""
        SELECT CONCAT('user', LPAD(CAST(MOD(version * 31, 200) AS STRING), 3, '0')) AS user_id,
               CAST(version AS DOUBLE) / 8 AS avg_amount, CAST(MOD(version, 50) AS BIGINT) AS n_events,
               {BASE_MS} + MOD(version * 3600017, {4 * DAY}) AS valid_from,
               {BASE_MS} + MOD(version * 3600017, {4 * DAY}) + MOD(version, 1000) AS written_at, version
        FROM gen""")
    statements = t_env.create_statement_set()
    add_history_sink(t_env, statements, t_env.to_data_stream(generated), cfg, VIEW)
    return statements.execute()


def _table(cfg: CatalogConfig):
    return load_pyiceberg_catalog(cfg).load_table(VIEW.identifier(cfg.namespace))


def _multiset(cfg: CatalogConfig) -> Counter:
    """The table's rows, times as epoch microseconds."""
    read = _table(cfg).scan().to_arrow()
    columns = [read[n].cast(pa.int64()) if n in ("valid_from", "written_at") else read[n] for n in read.column_names]
    return Counter(zip(*(c.to_pylist() for c in columns)))


def _labels(rng: random.Random, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": [rng.choice([*KEYS, "nobody"]) for _ in range(n)],
        "timestamp": [BASE_MS + rng.randrange(5 * DAY) for _ in range(n)],
    })


class _RowsRead:
    """Counts the history rows the training reader decodes (HistoryReader._rows)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        real, lock = HistoryReader._rows, threading.Lock()

        def counted(reader, f, groups, columns):
            table = real(reader, f, groups, columns)
            with lock:
                self.rows += table.num_rows
            return table

        monkeypatch.setattr(HistoryReader, "_rows", counted)


def _training_sets(cfg: CatalogConfig, labels: pd.DataFrame) -> dict[str, object]:
    return {
        as_of: join_history(labels, "user_stats", cfg, ttl=None, as_of=as_of, chunk_rows=100).to_pylist()
        for as_of in ("event_time", "known_time")
    }


@pytest.mark.timeout(300)
def test_compaction_of_flink_written_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = CatalogConfig(state_dir=tmp_path / "state")
    _write_with_flink(cfg, _rows(random.Random(3), 6000, first_version=1)).wait()
    table = _table(cfg)
    assert {t.file.sort_order_id for t in table.scan().plan_files()} == {0}  # Flink's: unsorted
    before = _multiset(cfg)
    labels = _labels(random.Random(5), 1000)
    counter = _RowsRead(monkeypatch)
    sets_before = _training_sets(cfg, labels)
    read_before, counter.rows = counter.rows, 0

    report = compact_history(cfg, "user_stats", timedelta(days=1), row_group_rows=100)

    assert [o.status for o in report.partitions] == ["compacted"] * 5  # 4 days from a mid-day BASE_MS: 5 dates
    assert _multiset(cfg) == before
    table = _table(cfg)
    files = [t.file for t in table.scan().plan_files()]
    assert len(files) == 5 and {f.sort_order_id for f in files} == {table.sort_order().order_id}
    for f in files:
        parquet = pq.ParquetFile(f.file_path.removeprefix("file:"))
        assert parquet.metadata.num_row_groups == -(-f.record_count // 100)
        rows = parquet.read().to_pylist()
        assert rows == sorted(rows, key=lambda r: (r["user_id"], r["valid_from"], r["written_at"], r["version"]))

    assert _training_sets(cfg, labels) == sets_before
    # 10 key-sorted chunks: each reads about its tenth of the keys, not the whole history.
    assert counter.rows < read_before / 3, (counter.rows, read_before)

    snapshots = len(table.snapshots())
    again = compact_history(cfg, "user_stats", timedelta(days=1), row_group_rows=100)
    assert [o.status for o in again.partitions] == ["already compacted"] * 5
    assert len(_table(cfg).snapshots()) == snapshots


@pytest.mark.timeout(300)
def test_compaction_while_flink_commits_into_the_same_partitions(tmp_path: Path, monkeypatch) -> None:
    cfg = CatalogConfig(state_dir=tmp_path / "state")
    real_write = compaction._write

    def slow_write(*args):  # as for a large partition: Flink's checkpoints commit meanwhile
        files = real_write(*args)
        time.sleep(0.4)
        return files

    monkeypatch.setattr(compaction, "_write", slow_write)
    rng = random.Random(9)
    first = _rows(rng, 2000, first_version=1)
    _write_with_flink(cfg, first).wait()
    running = _trickle(cfg, 10_000, 1500, per_second=250)  # ~6 s, a commit at each checkpoint
    # The per-job mini-cluster shuts down with its job: wait for it in a thread, not by polling.
    waiter = ThreadPoolExecutor(max_workers=1).submit(running.wait)

    reports = []
    while not waiter.done():
        reports.append(compact_history(cfg, "user_stats", timedelta(days=1), row_group_rows=100))
    waiter.result()  # the job's failure, if any

    compacted = [o for r in reports for o in r.partitions if o.status == "compacted"]
    assert compacted
    assert len(_table(cfg).snapshots()) > 2 + len(compacted)  # Flink kept committing meanwhile
    want = Counter((r.user_id, r.avg_amount, r.n_events, r.valid_from * 1000, r.written_at * 1000, r.version)
                   for r in first)
    want.update(_generated(v) for v in range(10_000, 11_500))
    assert _multiset(cfg) == want  # every row exactly once

    final = compact_history(cfg, "user_stats", timedelta(days=1), row_group_rows=100)
    assert {o.status for o in final.partitions} <= {"compacted", "already compacted"}
    assert {t.file.sort_order_id for t in _table(cfg).scan().plan_files()} == {_table(cfg).sort_order().order_id}
