"""Training sets: point-in-time-correct features for labelled instants, from the Iceberg history.

Plan: one pyiceberg scan planned with the labels' time range (TTL look-back included) and,
when few, their entities. Up to `chunk_rows` labels are joined at once in their own
order. More are sorted by entity key and cut into chunks of `chunk_rows`; each chunk
reads, from the planned files, only the rows of its key range and time range (files
skipped by their column bounds, row groups by their statistics), is joined by DuckDB
(`point_in_time_join`) while the next chunk is read, and its features are put back in
label order at the end. Memory: the labels, their feature columns, and at most two
chunks' history, never the whole history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import META_COLUMNS, HistoryTable, history_identifier
from skewless.training.errors import TrainingSetError
from skewless.training.labels import check_keys, label_times_us, to_arrow
from skewless.training.pit import AS_OF_MODES, AsOf, point_in_time_join

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema
    from pyiceberg.table import FileScanTask, Table

Progress = Callable[[int, int], None]

# Labels joined at a time by default. A chunk's memory is about its labels plus the
# history of their entities (within the TTL look-back), twice over (the chunk being
# joined and the next one being read), and DuckDB's sorted copy of it. bench/training.py,
# 10 history rows per label: 1M labels in 250k-label chunks peaked at 1.0 GB RSS (0.2 GB
# before the call). At a fifth of that size, 50k-label chunks (a quarter of the labels,
# as above) peaked at 442 MB against 691 MB in one chunk, 6% slower; 20k-label chunks at
# 357 MB but 30% slower: each chunk opens every file and reads its row groups whole.
DEFAULT_CHUNK_ROWS = 250_000
# Up to this many distinct entities, a scan filters on them (In); beyond, on time only
# (and, in a chunk, on the chunk's key range).
MAX_KEYS_IN_FILTER = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ttl_to_us(ttl: timedelta | int | None) -> int | None:
    """A TTL as microseconds; an int is milliseconds; None means values never expire."""
    if ttl is None:
        return None
    if isinstance(ttl, timedelta):
        us = ttl // timedelta(microseconds=1)
    elif isinstance(ttl, int) and not isinstance(ttl, bool):
        us = ttl * 1000
    else:
        raise TrainingSetError(f"ttl must be a timedelta, integer milliseconds or None, got {ttl!r}")
    if us <= 0:
        raise TrainingSetError(f"ttl must be positive, got {ttl!r}")
    return us


def _iso(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).isoformat()


def _row_filter(
    label_keys: pa.Table, ts_us: pa.ChunkedArray, ttl_us: int | None, as_of: AsOf
) -> BooleanExpression:
    """Prune the scan to what any label can use: valid_from in [min(ts) - ttl, max(ts)]
    (older updates could only be expired answers), and the labels' entities when few."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, In, LessThanOrEqual

    lo, hi = (v.as_py() for v in pc.min_max(ts_us).values())
    expr: BooleanExpression = LessThanOrEqual("valid_from", _iso(hi))
    if ttl_us is not None:
        expr = And(expr, GreaterThanOrEqual("valid_from", _iso(lo - ttl_us)))
    if as_of == "known_time":
        expr = And(expr, LessThanOrEqual("written_at", _iso(hi)))
    for name in label_keys.column_names:
        values = pc.unique(label_keys[name])
        if len(values) <= MAX_KEYS_IN_FILTER:
            expr = And(expr, In(name, set(values.to_pylist())))
    return expr


def _load(view: str | HistoryTable, cfg: CatalogConfig, catalog: Catalog | None) -> tuple[Table, HistoryTable]:
    from pyiceberg.exceptions import NoSuchTableError

    catalog = catalog or load_pyiceberg_catalog(cfg)
    name = view.view if isinstance(view, HistoryTable) else view
    identifier = history_identifier(cfg.namespace, name)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError as exc:
        raise TrainingSetError(
            f"view {name!r} has no history table {identifier} in the {cfg.describe()}; "
            "check the view name and catalog settings, or run the view's job first"
        ) from exc
    stored = HistoryTable.from_iceberg(table)
    if isinstance(view, HistoryTable) and view != stored:
        raise TrainingSetError(
            f"view {name!r} as given ({view}) differs from its history table {identifier} ({stored})"
        )
    return table, stored


def _chunk_filter(label_keys: pa.Table, ts_us: pa.ChunkedArray, ttl_us: int | None, as_of: AsOf) -> BooleanExpression:
    """`_row_filter` plus each key column's [min, max] over the chunk: labels sorted by key
    make that a narrow range, which prunes files and row groups by their statistics."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

    expr = _row_filter(label_keys, ts_us, ttl_us, as_of)
    for name in label_keys.column_names:
        lo, hi = (v.as_py() for v in pc.min_max(label_keys[name]).values())
        expr = And(expr, And(GreaterThanOrEqual(name, lo), LessThanOrEqual(name, hi)))
    return expr


def _key_order(label_keys: pa.Table) -> pa.Array:
    """Label row numbers sorted by key, stably. Each key column is sorted as the rank of its
    value among the column's distinct values: sorting integers beats sorting strings, and
    the distinct values are usually far fewer than the labels."""
    ranks = {}
    for name in label_keys.column_names:
        encoded = pc.dictionary_encode(label_keys[name].combine_chunks())
        ranks[name] = pc.rank(encoded.dictionary, tiebreaker="dense").take(encoded.indices)
    return pc.sort_indices(pa.table(ranks), sort_keys=[(name, "ascending") for name in ranks])


def _read(table: Table, projection: Schema, tasks: list[FileScanTask], expr: BooleanExpression) -> pa.Table:
    """The rows of `tasks` matching expr: files whose column bounds exclude it are skipped,
    then pyiceberg's Arrow reader prunes row groups by their statistics and filters rows."""
    from pyiceberg.io.pyarrow import ArrowScan

    try:  # what DataScan.plan_files prunes files with (private in pyiceberg 0.8)
        from pyiceberg.expressions.visitors import _InclusiveMetricsEvaluator
    except ImportError:  # pragma: no cover - a pyiceberg without it: the reader still prunes row groups
        chosen = tasks
    else:
        may_match = _InclusiveMetricsEvaluator(table.schema(), expr).eval
        chosen = [task for task in tasks if may_match(task.file)]
    return ArrowScan(table.metadata, table.io, projection, expr).to_table(chosen)


def _features(
    table: Table,
    history: HistoryTable,
    label_keys: pa.Table,
    ts_us: pa.ChunkedArray,
    ttl_us: int | None,
    as_of: AsOf,
    chunk_rows: int,
    progress: Progress | None,
) -> Callable[[int, int], pa.Table]:
    """Join chunk_rows labels at a time; return `rows(start, stop)`, the feature columns of
    label rows [start, stop) in label order."""
    n = label_keys.num_rows
    fields = (*history.key_names, *history.feature_names, *META_COLUMNS)

    def join(keys: pa.Table, ts: pa.ChunkedArray, rows: pa.Table) -> pa.Table:
        return point_in_time_join(keys, ts, rows, history.key_names, history.feature_names, ttl_us, as_of)

    if n == 0:
        empty = join(label_keys, ts_us, table.schema().as_arrow().empty_table())
        return lambda start, stop: empty
    scan = table.scan(row_filter=_row_filter(label_keys, ts_us, ttl_us, as_of), selected_fields=fields)
    if n <= chunk_rows:  # one chunk: labels in their own order, no sort, no reordering
        out = join(label_keys, ts_us, scan.to_arrow())
        if progress is not None:
            progress(n, n)
        return lambda start, stop: out.slice(start, stop - start)

    # Several chunks: labels sorted by entity key, so each chunk needs the history of a
    # narrow key range only (one entity's labels may straddle two chunks: both read it).
    tasks = list(scan.plan_files())
    projection = scan.projection()
    order = _key_order(label_keys)

    def read(start: int) -> tuple[pa.Table, pa.ChunkedArray, pa.Table]:
        rows_of = order.slice(start, chunk_rows)
        keys, ts = label_keys.take(rows_of), ts_us.take(rows_of)
        return keys, ts, _read(table, projection, tasks, _chunk_filter(keys, ts, ttl_us, as_of))

    # The next chunk's history is read while DuckDB joins this one (both release the GIL),
    # so at most two chunks' history are in memory at once.
    parts = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-scan") as reader:
        ahead = reader.submit(read, 0)
        for start in range(0, n, chunk_rows):
            keys, ts, rows = ahead.result()
            if start + chunk_rows < n:
                ahead = reader.submit(read, start + chunk_rows)
            parts.append(join(keys, ts, rows))
            del keys, ts, rows
            if progress is not None:
                progress(min(n, start + chunk_rows), n)
    by_key = pa.concat_tables(parts)
    back = np.empty(n, dtype=np.int64)  # label row i sits at back[i] in key order
    back[order.to_numpy()] = np.arange(n, dtype=np.int64)
    return lambda start, stop: by_key.take(back[start:stop])


def _prepared(
    labels: Any,
    view: str | HistoryTable,
    catalog_cfg: CatalogConfig,
    ttl: timedelta | int | None,
    as_of: AsOf,
    timestamp_column: str,
    catalog: Catalog | None,
    chunk_rows: int,
    progress: Progress | None,
) -> tuple[pa.Table, list[str], Callable[[int, int], pa.Table]]:
    """Validate, join, and return (labels as Arrow, feature names, rows(start, stop))."""
    if as_of not in AS_OF_MODES:
        raise TrainingSetError(f"as_of must be one of {AS_OF_MODES}, got {as_of!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows <= 0:
        raise TrainingSetError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    ttl_us = ttl_to_us(ttl)
    table_in = to_arrow(labels)
    table, history = _load(view, catalog_cfg, catalog)  # IcebergError when the catalog fails

    clash = sorted(set(history.feature_names) & set(table_in.column_names))
    if clash:
        raise TrainingSetError(
            f"labels already have columns {clash} named like features of view {history.view}; rename them"
        )
    ts_us = label_times_us(table_in, timestamp_column)
    arrow_schema = table.schema().as_arrow()
    label_keys = check_keys(table_in, {k: arrow_schema.field(k).type for k in history.key_names})
    rows = _features(table, history, label_keys, ts_us, ttl_us, as_of, chunk_rows, progress)
    return table_in, history.feature_names, rows


def _with_features(labels: pa.Table, names: list[str], features: pa.Table) -> pa.Table:
    for name in names:
        labels = labels.append_column(name, features[name])
    return labels


def get_historical_features(
    labels: Any,
    view: str | HistoryTable,
    catalog_cfg: CatalogConfig,
    ttl: timedelta | int | None,
    as_of: AsOf = "event_time",
    *,
    timestamp_column: str = "timestamp",
    catalog: Catalog | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> pa.Table:
    """The labels, unchanged and in their order, with the view's features at each label's time.

    labels: a pandas DataFrame or Arrow table with the view's entity key column(s) and
      `timestamp_column` (integer epoch ms, or tz-aware timestamps); other columns pass through.
    view: the view name (its history table describes its keys and features) or its HistoryTable.
    ttl: the view's TTL (timedelta, or int ms; None: never expire). A value older than ttl
      at the label's time is null; one exactly ttl old is present.
    as_of: "event_time" sees every update with valid_from <= ts, including corrections
      written later ("as it happened"); "known_time" sees only updates with
      written_at <= ts too ("as it was known").
    chunk_rows: labels joined at a time. More labels than this are sorted by entity key
      and joined chunk by chunk, each chunk reading only its key range's history (within
      the TTL look-back), so the history is never in memory whole; the result is the
      same, in the labels' order.
    progress: called as progress(labels_done, labels_total) after each chunk.
    """
    table_in, names, rows = _prepared(
        labels, view, catalog_cfg, ttl, as_of, timestamp_column, catalog, chunk_rows, progress
    )
    return _with_features(table_in, names, rows(0, table_in.num_rows))


def iter_historical_features(
    labels: Any,
    view: str | HistoryTable,
    catalog_cfg: CatalogConfig,
    ttl: timedelta | int | None,
    as_of: AsOf = "event_time",
    *,
    batch_rows: int = 100_000,
    **options: Any,
) -> Iterator[pa.Table]:
    """get_historical_features' rows (same arguments and keyword options) as consecutive
    tables of up to batch_rows rows, in label order (one empty table for no labels), for
    writing to a file without building the whole result first.

    Every chunk is joined (and the labels validated) before the first table is yielded;
    what is held until the end is the feature columns, not the history."""
    unknown = set(options) - {"timestamp_column", "catalog", "chunk_rows", "progress"}
    if unknown:
        raise TypeError(f"iter_historical_features got unexpected options {sorted(unknown)}")
    table_in, names, rows = _prepared(
        labels, view, catalog_cfg, ttl, as_of, options.get("timestamp_column", "timestamp"),
        options.get("catalog"), options.get("chunk_rows", DEFAULT_CHUNK_ROWS), options.get("progress"),
    )
    for start in range(0, max(1, table_in.num_rows), batch_rows):
        stop = min(table_in.num_rows, start + batch_rows)
        yield _with_features(table_in.slice(start, stop - start), names, rows(start, stop))
