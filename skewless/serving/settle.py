"""When a served value can be judged: the history must hold every update of its entity
written at or before served_at (Iceberg commits per checkpoint, so it lags the stream).

A record is settled by any of:
- the history holds an update of that entity with written_at > served_at: one aggregator
  subtask emits all of a key's updates in written_at order, channels are FIFO and the
  committer commits checkpoints in order, so every earlier update of the key is in;
- with a job of parallelism 1, an update of any entity with written_at > served_at, by the
  same argument over the single subtask;
- the latest snapshot carries the committer's end-of-input marker
  (`flink.max-committed-checkpoint-id` = Long.MAX_VALUE): the job has finished. A bounded
  job may as well commit its tail at a last ordinary checkpoint (both were seen here), so
  the end of a job is not always visible in the table: the caller says so instead
  (`history_complete`).
A value served after an entity's (and, at parallelism 1, every entity's) last update stays
unsettled on a running job until the next update is committed; tile expiries emit updates
at every hop boundary, so that is at most about a hop plus a checkpoint away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

from skewless.serving.log import Served
from skewless.spec import ViewSpec

if TYPE_CHECKING:
    from pyiceberg.table import Table

FINAL_CHECKPOINT = str(2**63 - 1)  # what the Iceberg committer records for a bounded job's last commit


def wait_settled(
    table: Table,
    spec: ViewSpec,
    entries: list[Served],
    wait_s: float,
    poll_s: float,
    parallelism: int,
    sleep: Callable[[float], None],
) -> tuple[list[Served], list[Served]]:
    """(settled, still pending after wait_s), re-reading the table every poll_s."""
    deadline = time.monotonic() + wait_s
    pending = entries
    settled: list[Served] = []
    while True:
        table.refresh()
        done, pending = split_settled(table, spec, pending, parallelism)
        settled += done
        if not pending or time.monotonic() >= deadline:
            return settled, pending
        sleep(poll_s)


def split_settled(
    table: Table, spec: ViewSpec, entries: list[Served], parallelism: int
) -> tuple[list[Served], list[Served]]:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return [], entries
    summary = snapshot.summary.additional_properties if snapshot.summary else {}
    if summary.get("flink.max-committed-checkpoint-id") == FINAL_CHECKPOINT:
        return entries, []
    from pyiceberg.expressions import GreaterThan

    since = min(e.served_at for e in entries)
    rows = table.scan(
        row_filter=GreaterThan("written_at", iso(since)), selected_fields=(spec.entity_key, "written_at")
    ).to_arrow()
    latest: dict[str, int] = {}
    newest = -1
    for key, written in zip(rows[spec.entity_key].to_pylist(), epoch_ms_list(rows["written_at"]), strict=True):
        latest[key] = max(written, latest.get(key, written))
        newest = max(newest, written)
    done, pending = [], []
    for entry in entries:
        proven = latest.get(entry.entity, -1) > entry.served_at or (parallelism == 1 and newest > entry.served_at)
        (done if proven else pending).append(entry)
    return done, pending


def iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat()


def epoch_ms_list(column: pa.ChunkedArray) -> list[int]:
    return column.cast(pa.timestamp("ms", column.type.tz), safe=False).cast(pa.int64()).to_pylist()
