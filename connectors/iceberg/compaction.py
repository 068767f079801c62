"""Sort-compact the history table, one day partition at a time.

Iceberg's Flink sink writes rows in arrival order, with row groups sized by bytes, so a
training chunk's key range prunes no row group of its files. Compaction rewrites each
settled day partition (its whole day ended at least `older_than` ago, so late
corrections no longer land in it) as files sorted by (keys, valid_from, written_at,
version) with row groups of `write.parquet.row-group-limit` rows (16k on tables made by
`ensure_history_table`): the layout training-set reads prune well.

Marker: every file compaction writes carries the table's sort order id (the Iceberg
spec's "this file is sorted by that order"; Flink writes 0, unsorted). A partition whose
data files all carry it, and that has no delete files, is compacted and left alone. The
marker lives in the manifests, so it survives snapshot expiry and manifest rewrites, and
a late correction appended afterwards (an unsorted file) makes the partition eligible again.

Atomicity and concurrency: one partition is replaced in one OVERWRITE snapshot that
removes exactly the files read and adds the sorted ones. The commit asserts the table's
current snapshot is the one the files were planned from, so a concurrent commit (the
streaming job appends at every checkpoint) fails it instead of being overwritten. Then
the partition is planned again on the new snapshot: same files, the sorted files are
committed again on top; other files (a correction landed), the sorted files are dropped
and the partition is read again. Rows are never lost or duplicated: every file removed
was read, every file read is removed. The streaming job's own commits retry on top of
ours (appends never conflict).

Memory: one partition's rows, twice (as read and sorted).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import ROW_GROUP_ROWS, HistoryTable, history_identifier

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog import Catalog
    from pyiceberg.manifest import DataFile
    from pyiceberg.table import FileScanTask, Table

DAY_MS = 86_400_000
ROW_GROUP_PROPERTY = "write.parquet.row-group-limit"
SUMMARY_PROPERTY = "skewless.compacted-partition"  # in the snapshot summary, for audits
MAX_ATTEMPTS = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Status = Literal["compacted", "would compact", "already compacted", "has delete files"]


@dataclass(frozen=True)
class DayPartition:
    """What the current snapshot holds for one day(valid_from) partition."""

    day: int  # days since the epoch: the partition value
    files: int
    rows: int
    sorted_files: int  # data files carrying the table's sort order id
    delete_files: int = 0

    @property
    def end_ms(self) -> int:
        return (self.day + 1) * DAY_MS

    @property
    def compacted(self) -> bool:
        return self.sorted_files == self.files and self.delete_files == 0

    @property
    def name(self) -> str:
        return (date(1970, 1, 1) + timedelta(days=self.day)).isoformat()


def cutoff_ms(now_ms: int, older_than: timedelta) -> int:
    """Partitions whose day ends at or before this instant are settled."""
    if older_than < timedelta(0):
        raise IcebergError(f"older_than must not be negative, got {older_than}")
    return now_ms - older_than // timedelta(milliseconds=1)


def partition_status(partition: DayPartition) -> Status:
    """What compaction does with a settled partition."""
    if partition.delete_files:
        return "has delete files"  # an append-only history has none; not ours to rewrite
    return "already compacted" if partition.compacted else "would compact"


def settled_partitions(partitions: Iterable[DayPartition], now_ms: int, older_than: timedelta) -> list[DayPartition]:
    """The partitions whose whole day ended at least `older_than` before now, by day."""
    cutoff = cutoff_ms(now_ms, older_than)
    return sorted((p for p in partitions if p.end_ms <= cutoff), key=lambda p: p.day)


def select_partitions(partitions: Iterable[DayPartition], now_ms: int, older_than: timedelta) -> list[DayPartition]:
    """The settled partitions that need compacting, by day."""
    return [p for p in settled_partitions(partitions, now_ms, older_than) if partition_status(p) == "would compact"]


@dataclass(frozen=True)
class PartitionOutcome:
    partition: str  # the day, ISO
    status: Status
    rows: int
    files_before: int
    files_after: int = 0
    row_groups_after: int = 0
    attempts: int = 0  # commits tried; more than 1 means a concurrent commit was retried against


@dataclass(frozen=True)
class CompactionReport:
    table: str
    cutoff: str  # ISO instant: days ending at or before it were considered
    dry_run: bool
    partitions: tuple[PartitionOutcome, ...] = field(default=())

    @property
    def compacted(self) -> list[PartitionOutcome]:
        return [p for p in self.partitions if p.status in ("compacted", "would compact")]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _iso(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat()


def _day_filter(lo_day: int | None, hi_day: int) -> object:
    """valid_from within days [lo_day, hi_day]: lets planning skip other days' manifests."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan

    before = LessThan("valid_from", _iso((hi_day + 1) * DAY_MS))
    return before if lo_day is None else And(GreaterThanOrEqual("valid_from", _iso(lo_day * DAY_MS)), before)


class _Layout:
    """The table's day partition field and sort order, checked once."""

    def __init__(self, table: Table) -> None:
        from pyiceberg.transforms import DayTransform

        name = ".".join(table.name())
        history = HistoryTable.from_iceberg(table)  # refuses a table that is not a history table
        schema, spec, order = table.schema(), table.spec(), table.sort_order()
        ids = {f.name: f.field_id for f in schema.fields}
        fields = [(f.source_id, f.transform) for f in spec.fields]
        if len(fields) != 1 or fields[0][0] != ids["valid_from"] or not isinstance(fields[0][1], DayTransform):
            raise IcebergError(f"table {name} is not partitioned by day(valid_from) alone ({spec}); cannot compact it")
        want = [ids[n] for n in (*history.key_names, "valid_from")]
        if order.order_id == 0 or [f.source_id for f in order.fields] != want:
            raise IcebergError(
                f"table {name} declares sort order {order}, not ({', '.join((*history.key_names, 'valid_from'))}); "
                "compaction marks its files with that order and cannot"
            )
        self.spec_id = spec.spec_id
        self.order_id = order.order_id
        self.sort_columns = [*history.key_names, "valid_from", "written_at", "version"]

    def partitions(self, tasks: Iterable[FileScanTask]) -> dict[int, list[FileScanTask]]:
        """Tasks by day; files of an older partition spec would be another layout: refused."""
        by_day: dict[int, list[FileScanTask]] = {}
        for task in tasks:
            if task.file.spec_id != self.spec_id:
                raise IcebergError(f"data file {task.file.file_path} has partition spec {task.file.spec_id}, "
                                   f"not the table's {self.spec_id}; cannot compact across specs")
            by_day.setdefault(int(task.file.partition[0]), []).append(task)
        return by_day

    def describe(self, day: int, tasks: Sequence[FileScanTask]) -> DayPartition:
        return DayPartition(
            day=day,
            files=len(tasks),
            rows=sum(t.file.record_count for t in tasks),
            sorted_files=sum(1 for t in tasks if t.file.sort_order_id == self.order_id),
            delete_files=len({d.file_path for t in tasks for d in t.delete_files}),
        )


def _plan(table: Table, layout: _Layout, lo_day: int | None, hi_day: int) -> dict[int, list[FileScanTask]]:
    scan = table.scan(row_filter=_day_filter(lo_day, hi_day))
    return layout.partitions(scan.plan_files())


def _sorted_rows(table: Table, tasks: Sequence[FileScanTask], columns: list[str]) -> pa.Table:
    """Every row of the files (pyiceberg's reader: field-id mapping, any schema evolution), sorted."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    rows = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(list(tasks))
    return rows.sort_by([(c, "ascending") for c in columns])


def _write(table: Table, rows: pa.Table, layout: _Layout, row_group_rows: int) -> list[DataFile]:
    """The sorted rows as data files of the table's layout, marked with its sort order id."""
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    # pyiceberg sizes row groups by this property; tables made before it was set get ours.
    metadata = table.metadata.model_copy(
        update={"properties": {**table.metadata.properties, ROW_GROUP_PROPERTY: str(row_group_rows)}}
    )
    files = list(_dataframe_to_data_files(metadata, rows, table.io))
    for data_file in files:
        data_file.sort_order_id = layout.order_id  # pyiceberg 0.8 leaves it unset
    return files


def _discard(table: Table, files: Iterable[DataFile]) -> None:
    for data_file in files:
        try:
            table.io.delete(data_file.file_path)
        except OSError:
            pass  # an orphan file is harmless: no snapshot references it


def _commit(table: Table, old: Iterable[DataFile], new: Iterable[DataFile], day_name: str) -> None:
    """Replace old by new in one snapshot, asserting `table`'s snapshot is still current."""
    with table.transaction() as tx:
        props = {SUMMARY_PROPERTY: f"valid_from_day={day_name}"}
        with tx.update_snapshot(snapshot_properties=props).overwrite() as overwrite:
            for data_file in old:
                overwrite.delete_data_file(data_file)
            for data_file in new:
                overwrite.append_data_file(data_file)


def _row_groups(table: Table, files: Iterable[DataFile]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as source:
            total += pq.ParquetFile(source).metadata.num_row_groups
    return total


def _compact_day(
    catalog: Catalog, identifier: str, layout: _Layout, day: int, row_group_rows: int, max_attempts: int
) -> PartitionOutcome:
    """Compact one partition, retrying on concurrent commits (see the module docstring)."""
    from pyiceberg.exceptions import CommitFailedException, CommitStateUnknownException

    name = DayPartition(day, 0, 0, 0).name
    written: list[DataFile] = []
    read_paths: frozenset[str] = frozenset()
    table = catalog.load_table(identifier)
    try:
        for attempt in range(1, max_attempts + 1):
            tasks = _plan(table, layout, day, day).get(day, [])
            now = layout.describe(day, tasks)
            if partition_status(now) != "would compact":  # compacted by another run meanwhile
                return PartitionOutcome(name, partition_status(now), now.rows, now.files, attempts=attempt - 1)
            paths = frozenset(t.file.file_path for t in tasks)
            if paths != read_paths:  # first attempt, or rows landed meanwhile: read them all again
                _discard(table, written)
                written, read_paths = [], paths
                written = _write(table, _sorted_rows(table, tasks, layout.sort_columns), layout, row_group_rows)
            try:
                _commit(table, [t.file for t in tasks], written, name)
            except CommitFailedException:
                time.sleep(min(2.0, 0.05 * 2**attempt))
                table = catalog.load_table(identifier)
                continue
            kept, written = written, []  # committed: no longer ours to delete
            return PartitionOutcome(
                name, "compacted", now.rows, now.files, len(kept), _row_groups(table, kept), attempt
            )
    except CommitStateUnknownException as exc:
        written = []  # the commit may have happened: its files must stay
        raise IcebergError(f"{identifier}: the commit of partition {name} has an unknown outcome; "
                           "check the table's latest snapshot, then run compaction again") from exc
    finally:
        _discard(table, written)
    raise IcebergError(
        f"{identifier}: partition {name} was changed by {max_attempts} concurrent commits in a row; "
        "nothing was replaced, try again later"
    )


def compact_history(
    cfg: CatalogConfig,
    view: str | HistoryTable,
    older_than: timedelta,
    *,
    dry_run: bool = False,
    now_ms: int | None = None,
    row_group_rows: int | None = None,
    catalog: Catalog | None = None,
    on_partition: Callable[[PartitionOutcome], None] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> CompactionReport:
    """Sort-compact every settled, not yet compacted day partition of a view's history.

    older_than: a partition is settled when its whole day ended at least this long before
      `now_ms` (default: the clock); pass at least the view's allowed lateness.
    dry_run: plan only; the report lists the partitions that would be compacted.
    row_group_rows: rows per Parquet row group (default: the table's
      write.parquet.row-group-limit, else ROW_GROUP_ROWS).
    on_partition: called with each partition's outcome as soon as it is known.
    """
    catalog = catalog or load_pyiceberg_catalog(cfg)
    name = view.view if isinstance(view, HistoryTable) else view
    identifier = history_identifier(cfg.namespace, name)
    if not catalog.table_exists(identifier):
        raise IcebergError(f"view {name!r} has no history table {identifier} in the {cfg.describe()}; "
                           "run the view's job first, or check the catalog")
    table = catalog.load_table(identifier)
    layout = _Layout(table)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = cutoff_ms(now_ms, older_than)
    last_day = cutoff // DAY_MS - 1  # the last day ending at or before the cutoff
    if row_group_rows is None:
        row_group_rows = int(table.properties.get(ROW_GROUP_PROPERTY, ROW_GROUP_ROWS))
    if row_group_rows <= 0:
        raise IcebergError(f"row_group_rows must be positive, got {row_group_rows}")

    planned = [layout.describe(day, tasks) for day, tasks in _plan(table, layout, None, last_day).items()]
    outcomes = []
    for partition in settled_partitions(planned, now_ms, older_than):
        status = partition_status(partition)
        if status == "would compact" and not dry_run:
            outcome = _compact_day(catalog, identifier, layout, partition.day, row_group_rows, max_attempts)
        else:
            outcome = PartitionOutcome(partition.name, status, partition.rows, partition.files)
        outcomes.append(outcome)
        if on_partition is not None:
            on_partition(outcome)
    return CompactionReport(identifier, _iso(cutoff), dry_run, tuple(outcomes))
