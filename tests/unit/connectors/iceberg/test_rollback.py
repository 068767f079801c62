"""Rolling a history table back to what a restored checkpoint saw."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from connectors.iceberg.catalog import CatalogConfig
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table
from connectors.iceberg.rollback import roll_back, truncate

VIEW = HistoryTable("v", keys=(Column("user_id", "string"),), features=(Column("n", "long"),))


def commit(table, job: str, checkpoint: int, n: int) -> int:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 1, tzinfo=timezone.utc)
    rows = pa.Table.from_pylist(
        [{"user_id": f"u{checkpoint}-{i}", "n": i, "valid_from": at, "written_at": at, "version": i} for i in range(n)],
        schema=table.schema().as_arrow(),
    )
    table.append(rows, snapshot_properties={"flink.job-id": job, "flink.max-committed-checkpoint-id": str(checkpoint)})
    return table.current_snapshot().snapshot_id


def test_a_restore_removes_the_commits_after_its_checkpoint_and_of_other_branches(tmp_path: Path) -> None:
    table = ensure_history_table(CatalogConfig(state_dir=tmp_path), VIEW)
    commit(table, "old", 7, 1)  # before the chain's first job started
    started = table.current_snapshot().timestamp_ms + 1
    keep = commit(table, "J1", 1, 2)
    commit(table, "J1", 2, 3)
    commit(table, "J2", 3, 4)  # J2 restored from J1's checkpoint 2: not an ancestor of J1@1
    done = roll_back(table, {"J1": 1}, started - 1)
    assert (done.to_snapshot, done.removed_snapshots, done.removed_rows) == (keep, 2, 7)
    assert table.refresh().current_snapshot().snapshot_id == keep
    assert len(table.scan().to_arrow()) == 3
    assert roll_back(table, {"J1": 1}, started - 1).removed_snapshots == 0  # idempotent


def test_a_restore_keeps_commits_older_than_the_chain_and_truncate_marks_a_rebuild(tmp_path: Path) -> None:
    table = ensure_history_table(CatalogConfig(state_dir=tmp_path), VIEW)
    older = commit(table, "elsewhere", 9, 2)
    started = table.current_snapshot().timestamp_ms + 1
    commit(table, "J1", 1, 3)
    done = roll_back(table, {"J1": 0}, started)  # J1's first checkpoint was never committed
    assert done.to_snapshot == older and len(table.refresh().scan().to_arrow()) == 2
    assert truncate(table, "test") == 2
    assert len(table.refresh().scan().to_arrow()) == 0
    assert table.current_snapshot().summary["skewless.rebuild"] == "test"
