"""Compaction of the history table: which partitions it picks (pure), and what it does to
a pyiceberg-written table (rows kept, files sorted, one snapshot, conflicts retried).

The Flink-written case is tests/integration/connectors/iceberg/test_compaction_flink.py."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import connectors.iceberg.compaction as compaction
from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.compaction import (
    DAY_MS,
    SUMMARY_PROPERTY,
    DayPartition,
    compact_history,
    partition_status,
    select_partitions,
    settled_partitions,
)
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import ensure_history_table
from tests.unit.skewless.training.conftest import USER_STATS, history_arrow
from tests.unit.skewless.training.pit_oracle import BASE_MS, Update

DAY0 = BASE_MS // DAY_MS  # the day BASE_MS falls in


def _part(day: int, files: int = 3, sorted_files: int = 0, delete_files: int = 0) -> DayPartition:
    return DayPartition(day=day, files=files, rows=files * 10, sorted_files=sorted_files, delete_files=delete_files)


# ---- selection


def test_a_partition_is_settled_once_its_whole_day_ended_older_than_ago() -> None:
    parts = [_part(DAY0 + 2), _part(DAY0), _part(DAY0 + 1)]
    now = (DAY0 + 2) * DAY_MS + 6 * 3_600_000  # 06:00 on day 2
    picked = select_partitions(parts, now, timedelta(hours=6))
    assert [p.day for p in picked] == [DAY0, DAY0 + 1]  # by day; day 1 ended exactly 6 h ago
    assert [p.day for p in select_partitions(parts, now - 1, timedelta(hours=6))] == [DAY0]
    assert select_partitions(parts, now, timedelta(days=3)) == []


def test_compacted_partitions_and_those_with_delete_files_are_left_alone() -> None:
    done, late, deletes, empty = _part(DAY0, 1, 1), _part(DAY0 + 1, 2, 1), _part(DAY0 + 2, 1, 1, 1), _part(DAY0 + 3, 0)
    assert [partition_status(p) for p in (done, late, deletes, empty)] == [
        "already compacted", "would compact", "has delete files", "already compacted",
    ]
    far_future = (DAY0 + 100) * DAY_MS
    assert select_partitions([done, late, deletes, empty], far_future, timedelta(days=1)) == [late]
    assert len(settled_partitions([done, late, deletes, empty], far_future, timedelta(days=1))) == 4


def test_a_negative_settling_time_is_refused() -> None:
    with pytest.raises(IcebergError, match="must not be negative"):
        select_partitions([_part(DAY0)], BASE_MS, timedelta(hours=-1))


def test_default_settling_time_covers_the_views_lateness(example_catalogue) -> None:
    from dataclasses import replace

    from skewless.history.cli import default_older_than

    spec = example_catalogue.spec("user_transactions")
    assert default_older_than(replace(spec, allowed_lateness_ms=0, out_of_orderness_ms=60_000)) == timedelta(days=1)
    late = replace(spec, allowed_lateness_ms=2 * DAY_MS, out_of_orderness_ms=60_000)
    assert default_older_than(late) == timedelta(days=2, minutes=1)


# ---- compaction of a pyiceberg-written table


def _updates(n: int = 600, days: int = 3) -> list[Update]:
    rng = random.Random(11)
    keys = [f"u{i:03d}" for i in range(40)]
    return [
        Update(rng.choice(keys), BASE_MS + rng.randrange(days * DAY_MS), BASE_MS + rng.randrange(days * DAY_MS),
               i, (rng.random(), rng.randrange(100)))
        for i in range(n)
    ]


@pytest.fixture
def cfg(tmp_path: Path) -> CatalogConfig:
    return CatalogConfig(state_dir=tmp_path / "state")


def _append(cfg: CatalogConfig, updates: list[Update], batches: int) -> None:
    """Arrival order, one commit per batch: several unsorted files per day, like Flink's."""
    table = ensure_history_table(cfg, USER_STATS)
    size = -(-len(updates) // batches)
    for start in range(0, len(updates), size):
        table.append(history_arrow(table, updates[start : start + size], USER_STATS))


def _table(cfg: CatalogConfig):
    return load_pyiceberg_catalog(cfg).load_table(USER_STATS.identifier(cfg.namespace))


def _rows(cfg: CatalogConfig) -> Counter:
    return Counter(map(tuple, (r.values() for r in _table(cfg).scan().to_arrow().to_pylist())))


def _files(cfg: CatalogConfig) -> list:
    return [t.file for t in _table(cfg).scan().plan_files()]


def _sort_key(row: dict) -> tuple:
    return row["user_id"], row["valid_from"], row["written_at"], row["version"]


def test_compaction_sorts_each_settled_partition_into_one_marked_file(cfg: CatalogConfig) -> None:
    updates = _updates()
    _append(cfg, updates, batches=5)
    before, snapshots = _rows(cfg), len(_table(cfg).snapshots())
    now = BASE_MS + 10 * DAY_MS

    seen = []
    report = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now, row_group_rows=50,
                             on_partition=seen.append)

    assert [o.status for o in report.partitions] == ["compacted"] * 4  # BASE_MS + 3 days spans 4 dates
    assert seen == list(report.partitions)
    assert sum(o.rows for o in report.partitions) == len(updates)
    assert all(o.files_before == 5 and o.files_after == 1 and o.attempts == 1 for o in report.partitions[1:3])
    assert _rows(cfg) == before  # the same multiset of rows
    table = _table(cfg)
    assert len(table.snapshots()) == snapshots + 4  # one snapshot per partition
    summaries = [s.summary for s in table.snapshots()[-4:]]
    assert all(s.operation.value == "overwrite" and SUMMARY_PROPERTY in s.additional_properties for s in summaries)
    files = _files(cfg)
    assert len(files) == 4 and {f.sort_order_id for f in files} == {table.sort_order().order_id}
    for f in files:
        meta = pq.ParquetFile(f.file_path.removeprefix("file://")).metadata
        assert max(meta.row_group(g).num_rows for g in range(meta.num_row_groups)) == min(50, f.record_count)
        rows = pq.read_table(f.file_path.removeprefix("file://")).to_pylist()
        assert rows == sorted(rows, key=_sort_key)

    again = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now)
    assert [o.status for o in again.partitions] == ["already compacted"] * 4
    assert len(_table(cfg).snapshots()) == snapshots + 4  # a no-op: no commit


def test_recent_partitions_and_dry_runs_change_nothing(cfg: CatalogConfig) -> None:
    _append(cfg, _updates(days=3), batches=3)
    snapshots = len(_table(cfg).snapshots())
    now = (DAY0 + 3) * DAY_MS + 3_600_000  # the last date still open
    dry = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now, dry_run=True)
    assert dry.dry_run and [o.status for o in dry.partitions] == ["would compact"] * 2  # days 0 and 1 ended 1 d ago
    assert len(_table(cfg).snapshots()) == snapshots

    report = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now)
    assert [o.partition for o in report.partitions] == [o.partition for o in dry.partitions]
    by_day = Counter(int(f.partition[0]) for f in _files(cfg))
    assert by_day[DAY0] == by_day[DAY0 + 1] == 1 and by_day[DAY0 + 2] == by_day[DAY0 + 3] == 3


def test_a_late_correction_reopens_a_compacted_partition(cfg: CatalogConfig) -> None:
    _append(cfg, _updates(days=1), batches=3)
    now = BASE_MS + 5 * DAY_MS
    compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now)
    late = [Update("u000", BASE_MS, now, 99_999, (0.5, 1))]
    _append(cfg, late, batches=1)
    before = _rows(cfg)
    report = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=now)
    assert [o.status for o in report.partitions if o.partition == DayPartition(DAY0, 0, 0, 0).name] == ["compacted"]
    assert _rows(cfg) == before


def _concurrent_commit(monkeypatch: pytest.MonkeyPatch, cfg: CatalogConfig, late: list[Update]) -> list[int]:
    """Append `late` right after compaction first writes its sorted files, before its commit
    (as the streaming job's checkpoint would); returns the number of writes, growing."""
    real_write, writes = compaction._write, []

    def write(table, rows, layout, row_group_rows):
        files = real_write(table, rows, layout, row_group_rows)
        writes.append(rows.num_rows)
        if len(writes) == 1:
            _append(cfg, late, batches=1)
        return files

    monkeypatch.setattr(compaction, "_write", write)
    return writes


def test_a_commit_racing_into_the_same_partition_is_read_again(cfg: CatalogConfig, monkeypatch) -> None:
    _append(cfg, _updates(days=1), batches=3)
    late = [Update("u001", BASE_MS + 1, BASE_MS + 9 * DAY_MS, 77_777, (0.25, 2))]
    writes = _concurrent_commit(monkeypatch, cfg, late)
    rows_before = sum(_rows(cfg).values())

    report = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=BASE_MS + 10 * DAY_MS)

    first = report.partitions[0]
    assert first.status == "compacted" and first.attempts == 2
    assert writes[:2] == [writes[0], writes[0] + 1]  # the retry re-read the late row
    assert sum(_rows(cfg).values()) == rows_before + 1  # nothing lost, nothing doubled
    day0 = [f for f in _files(cfg) if int(f.partition[0]) == DAY0]
    assert len(day0) == 1 and day0[0].sort_order_id == _table(cfg).sort_order().order_id
    warehouse = cfg.warehouse_path
    assert warehouse is not None
    written = {p.name for p in warehouse.rglob(f"valid_from_day={first.partition}/*.parquet")}
    assert Path(day0[0].file_path).name in written and len(written) == 3 + 1 + 1  # the discarded try is gone


def test_a_commit_racing_into_another_partition_keeps_the_sorted_files(cfg: CatalogConfig, monkeypatch) -> None:
    _append(cfg, _updates(days=1), batches=3)
    today = [Update("u002", BASE_MS + 9 * DAY_MS, BASE_MS + 9 * DAY_MS, 88_888, (0.75, 3))]
    writes = _concurrent_commit(monkeypatch, cfg, today)
    before = _rows(cfg)

    report = compact_history(cfg, "user_stats", timedelta(days=1), now_ms=BASE_MS + 9 * DAY_MS)

    assert report.partitions[0].attempts == 2
    assert len(writes) == len(report.partitions)  # one write per partition: the retry only committed again
    after = _rows(cfg)
    assert sum(after.values()) == sum(before.values()) + 1 and before - after == Counter()


def test_unknown_view_and_foreign_table_are_clear_errors(cfg: CatalogConfig) -> None:
    with pytest.raises(IcebergError, match="view 'nope' has no history table skewless.nope_history"):
        compact_history(cfg, "nope", timedelta(days=1))
    catalog = load_pyiceberg_catalog(cfg)
    from connectors.iceberg.catalog import ensure_namespace

    ensure_namespace(catalog, cfg)
    catalog.create_table("skewless.plain_history", pa.schema([pa.field("x", pa.int64())]))
    with pytest.raises(IcebergError, match="not a skewless history table"):
        compact_history(cfg, "plain", timedelta(days=1))


def test_cli_names_an_unknown_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from skewless.cli import main

    from tests.conftest import register_example_repo

    monkeypatch.setenv("SKEWLESS_HOME", str(tmp_path))
    empty = CliRunner().invoke(main, ["history", "compact", "user_transactions", "--dry-run"])
    assert empty.exit_code == 1
    assert empty.output == "error: no views are registered; run skewless apply --repo features/\n"
    register_example_repo(tmp_path)
    done = CliRunner().invoke(main, ["history", "compact", "no_such_view", "--dry-run"])
    assert done.exit_code == 1 and "no view 'no_such_view' is registered" in done.output
    bad = CliRunner().invoke(main, ["history", "compact", "user_transactions", "--older-than", "soon"])
    assert bad.exit_code == 1 and "--older-than: cannot read duration 'soon'" in bad.output
