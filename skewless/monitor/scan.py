"""The one scan `monitor` makes: the baseline and window days of a view's history, only the
columns it summarises, streamed file by file.

The row filter bounds valid_from to [baseline start, as_of) so that Iceberg plans only the
day partitions of those days (the table is partitioned by day(valid_from)), and bounds
written_at by as_of so that a report for a past instant shows what was known then and reads
the same whenever it is rerun.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from skewless.monitor.errors import MonitorError

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import FileScanTask, Table

DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat()


@dataclass(frozen=True)
class Periods:
    """The window [window_start, as_of) and the baseline [baseline_start, window_start), epoch ms."""

    as_of_ms: int
    window_days: int
    baseline_days: int

    def __post_init__(self) -> None:
        if self.window_days < 1 or self.baseline_days < 1:
            raise MonitorError(
                f"--window {self.window_days} and --baseline {self.baseline_days} must each be at least 1 day"
            )

    @property
    def window_start_ms(self) -> int:
        return self.as_of_ms - self.window_days * DAY_MS

    @property
    def baseline_start_ms(self) -> int:
        return self.window_start_ms - self.baseline_days * DAY_MS

    def describe(self) -> str:
        return (f"window {iso(self.window_start_ms)} .. {iso(self.as_of_ms)} ({self.window_days} d) against "
                f"baseline from {iso(self.baseline_start_ms)} ({self.baseline_days} d)")

    def row_filter(self) -> BooleanExpression:
        from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan, LessThanOrEqual

        return And(
            And(GreaterThanOrEqual("valid_from", iso(self.baseline_start_ms)), LessThan("valid_from", iso(self.as_of_ms))),
            LessThanOrEqual("written_at", iso(self.as_of_ms)),
        )


@dataclass(frozen=True)
class HistoryScan:
    table: Table
    periods: Periods
    columns: tuple[str, ...]  # the keys and the features summarised; valid_from is added

    def _scan(self):  # type: ignore[no-untyped-def]
        return self.table.scan(row_filter=self.periods.row_filter(), selected_fields=(*self.columns, "valid_from"))

    def plan(self) -> list[FileScanTask]:
        """The data files holding rows of the two periods (Iceberg's partition and metrics pruning)."""
        return list(self._scan().plan_files())

    def batches(self, tasks: list[FileScanTask]) -> Iterator[tuple[FileScanTask, Iterator[pa.RecordBatch]]]:
        """Each planned file with its rows, batch by batch, one file open at a time. pyiceberg's
        ArrowScan is what DataScan.to_arrow_batch_reader runs; fed one task at a time, it lets
        the caller count files as they are read."""
        from pyiceberg.io.pyarrow import ArrowScan

        scan = self._scan()
        reader = ArrowScan(self.table.metadata, self.table.io, scan.projection(), scan.row_filter)
        for task in tasks:
            yield task, reader.to_record_batches([task])


def split(batch: pa.RecordBatch, periods: Periods) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """(baseline rows, window rows) of a batch, by valid_from."""
    start = pa.scalar(periods.window_start_ms * 1000, pa.timestamp("us", tz="UTC"))
    valid_from = batch.column("valid_from").cast(pa.timestamp("us", tz="UTC"))
    in_window = pc.greater_equal(valid_from, start)
    return batch.filter(pc.invert(in_window)), batch.filter(in_window)
