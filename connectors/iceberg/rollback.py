"""Put a history table back to the state a restored checkpoint saw, so replays never duplicate.

Flink's Iceberg sink commits once per checkpoint and stamps each snapshot with the job id and
the checkpoint id (`flink.job-id`, `flink.max-committed-checkpoint-id`). A job restored from
checkpoint C of job J replays every record after C, so every commit after C must go first:
the commits of J after C, and those of any job that is not an ancestor of the restored state
(later jobs, or a branch restored from an older point). Setting the table's `main` back to the
newest snapshot the restored state includes removes them in one metadata commit; their files
stay readable for time travel until snapshots expire. The sink then re-commits C's own files
if C had not been committed yet, since its check reads the ancestry of `main`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pyiceberg.table import Table

JOB_ID = "flink.job-id"
CHECKPOINT_ID = "flink.max-committed-checkpoint-id"


@dataclass(frozen=True)
class Rollback:
    table: str
    from_snapshot: int | None
    to_snapshot: int | None
    removed_snapshots: int
    removed_rows: int


def rollback_target(table: Table, allowed: Mapping[str, int], root_started_ms: int | None) -> tuple[int | None, list[int]]:
    """(the snapshot to set `main` to, the snapshots after it), walking back from `main`.

    A snapshot is kept when it is a commit of an ancestor job at or before the checkpoint the
    restored state includes (`allowed`: job id -> checkpoint id), or older than the chain's
    first job (`root_started_ms`). Snapshots of other kinds (compaction, rebuild) after the
    restore point go too: compaction can run again.
    """
    removed: list[int] = []
    snapshot = table.current_snapshot()
    while snapshot is not None:
        summary = snapshot.summary or {}
        job = summary.get(JOB_ID)
        checkpoint = summary.get(CHECKPOINT_ID)
        if job in allowed and checkpoint is not None and int(checkpoint) <= allowed[job]:
            return snapshot.snapshot_id, removed
        if root_started_ms is not None and snapshot.timestamp_ms < root_started_ms:
            return snapshot.snapshot_id, removed
        removed.append(snapshot.snapshot_id)
        snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
    return None, removed


def truncate(table: Table, reason: str) -> int:
    """Delete every row in one snapshot marked `skewless.rebuild`; returns the rows deleted."""
    from pyiceberg.expressions import AlwaysTrue

    current = table.current_snapshot()
    rows = int((current.summary or {}).get("total-records") or 0) if current else 0
    if rows:
        table.delete(AlwaysTrue(), snapshot_properties={"skewless.rebuild": reason})
    return rows


def roll_back(table: Table, allowed: Mapping[str, int], root_started_ms: int | None) -> Rollback:
    """Set `main` to the restore point's snapshot (see `rollback_target`); a no-op when nothing
    was committed after it. With no snapshot to go back to, every row is deleted instead."""
    current = table.current_snapshot()
    target, removed = rollback_target(table, allowed, root_started_ms)
    name = ".".join(table.name())
    if not removed:
        return Rollback(name, current.snapshot_id if current else None, target, 0, 0)
    rows = 0
    for snapshot_id in removed:
        snapshot = table.snapshot_by_id(snapshot_id)
        rows += int((snapshot.summary or {}).get("added-records") or 0) if snapshot else 0
    if target is None:
        truncate(table, "rollback to before the first commit")
    else:
        table.manage_snapshots().create_branch(target, "main").commit()
    return Rollback(name, current.snapshot_id if current else None, target, len(removed), rows)
