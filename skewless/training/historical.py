"""Training sets: point-in-time-correct features for labelled instants, from the Iceberg history.

Plan: one pyiceberg scan planned with the labels' time range (TTL look-back included) and,
when few, their entities. Labels' keys become integer codes in key order (`keys.KeyCoder`).
Up to `chunk_rows` labels are joined at once in their own order. More are sorted by code
and cut into chunks of `chunk_rows`; each chunk reads, from the planned files, only the
rows of its key range and time range (files skipped by their column bounds, row groups by
their statistics, read by `scan.HistoryReader` straight from Parquet), is joined
(`pit.join_coded`) while the next chunk is read, and its features are put back in label
order at the end. Memory: the labels, their feature columns, and at most two
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
from skewless.registry.catalogue import Catalogue
from skewless.settings import Settings, load_settings
from skewless.spec import ViewSpec
from skewless.training.errors import TrainingSetError
from skewless.training.keys import KeyCoder
from skewless.training.labels import check_keys, label_times_us, to_arrow
from skewless.training.pit import AS_OF_MODES, AsOf, HistoryRows, as_us, feature_type, join_coded
from skewless.training.scan import Chunk, HistoryReader

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.schema import Schema
    from pyiceberg.table import FileScanTask, Table

Progress = Callable[[int, int], None]

# Labels joined at a time by default. A chunk's memory is about its labels plus the
# history of their entities (within the TTL look-back), twice over (the chunk being
# joined and the next one being read), and the join's sort of it. bench/training.py (1M
# labels, 10M history rows in 30 day files of 16k-row groups, 2 cores, load average
# 2.3-3.5 from other work): 100k-label chunks peaked at ~490 MB RSS (0.2 GB before the
# call) in 1.9 s, 3.0 CPU s; 250k-label chunks at ~700 MB in 1.7-1.9 s, 2.8 CPU s;
# 50k-label chunks at ~420 MB but 3.4-3.6 CPU s (per-chunk and per-file costs).
DEFAULT_CHUNK_ROWS = 100_000
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


def _time_filter(ts_us: pa.ChunkedArray, ttl_us: int | None, as_of: AsOf) -> BooleanExpression:
    """Prune the scan to the times any label can use: valid_from in [min(ts) - ttl, max(ts)]
    (older updates could only be expired answers), written by max(ts) in known_time."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

    lo, hi = (v.as_py() for v in pc.min_max(ts_us).values())
    expr: BooleanExpression = LessThanOrEqual("valid_from", _iso(hi))
    if ttl_us is not None:
        expr = And(expr, GreaterThanOrEqual("valid_from", _iso(lo - ttl_us)))
    if as_of == "known_time":
        expr = And(expr, LessThanOrEqual("written_at", _iso(hi)))
    return expr


def _row_filter(coder: KeyCoder, timed: BooleanExpression) -> BooleanExpression:
    """The time filter, and the labels' entities when few (`timed` itself when none are)."""
    from pyiceberg.expressions import And, In

    expr = timed
    for name in coder.names:
        values = coder.distinct(name)
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


def _chunk_filter(planned: BooleanExpression, first_key: str, chunk: Chunk) -> BooleanExpression:
    """The planning filter narrowed to one chunk: its first key column's range (labels
    sorted by key make it narrow) and its time range, to skip files by their column bounds."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

    expr = And(planned, LessThanOrEqual("valid_from", _iso(chunk.time_hi)))
    if chunk.time_lo is not None:
        expr = And(expr, GreaterThanOrEqual("valid_from", _iso(chunk.time_lo)))
    return And(expr, And(GreaterThanOrEqual(first_key, chunk.key_lo), LessThanOrEqual(first_key, chunk.key_hi)))


def _arrow_scan(table: Table, projection: Schema, tasks: list[FileScanTask], expr: BooleanExpression) -> pa.Table:
    """The rows of `tasks` matching expr, through pyiceberg's reader (delete files, field-id
    mapping): for the files HistoryReader cannot read directly."""
    from pyiceberg.io.pyarrow import ArrowScan

    return ArrowScan(table.metadata, table.io, projection, expr).to_table(tasks)


def _convert(
    part: pa.Table, chunk: Chunk, coder: KeyCoder, features: pa.Schema, as_of: AsOf,
    later: Callable[[], pa.Table] | None,
) -> HistoryRows:
    """A file's rows for a chunk, coded: those of the chunk's codes and times (plus, in a
    mostly wanted run, a few inert ones). Without written_at and version in `part`,
    `later()` reads them (same rows), should the join need them."""
    code = coder.codes_of(part.select(coder.names), chunk.code_lo, chunk.code_hi)
    vf = as_us(part["valid_from"])
    eager = "written_at" in part.column_names
    written = as_us(part["written_at"]) if eager else None
    keep = (code >= chunk.code_lo) & (code <= chunk.code_hi) & (vf <= chunk.time_hi)
    if chunk.time_lo is not None:
        keep &= vf >= chunk.time_lo
    if as_of == "known_time":
        keep &= written <= chunk.time_hi
    at = np.flatnonzero(keep)
    feats = part.select(features.names)
    pick: Callable[[np.ndarray], np.ndarray] = lambda values: values  # noqa: E731
    if len(at) == len(code):
        pass
    elif len(at) and at[-1] - at[0] + 1 <= len(at) * 1.25:
        # Mostly one run (key-sorted files): slice it, no copy of the features, and make
        # the few unwanted rows in it inert (no label has code -1; other rows outside the
        # time range cannot change an answer: too late to match, or expired).
        run = slice(int(at[0]), int(at[-1]) + 1)
        pick = lambda values: values[run]  # noqa: E731
        code = np.where(keep[run], code[run], -1)
        feats = feats.slice(run.start, run.stop - run.start)
    else:
        pick = lambda values: values[at]  # noqa: E731
        code, feats = code[at], feats.take(at)
    if eager:
        return HistoryRows(code, pick(vf), pick(written), pick(as_us(part["version"])), feats.cast(features))

    def load() -> tuple[np.ndarray, np.ndarray]:
        meta = later()
        return pick(as_us(meta["written_at"])), pick(as_us(meta["version"]))

    return HistoryRows(code, pick(vf), None, None, feats.cast(features), load)


def _read(reader: HistoryReader, chunk: Chunk, following: Chunk | None, may_match: Callable[[Any], bool],
          features: pa.Schema) -> HistoryRows:
    """The history rows of one chunk's key codes and time range, coded."""
    return HistoryRows.concat(reader.read(chunk, following, may_match), features)


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
    arrow_schema = table.schema().as_arrow()
    names = history.feature_names
    features = pa.schema([pa.field(f, feature_type(arrow_schema.field(f).type)) for f in names])
    if n == 0:
        empty = features.empty_table()
        return lambda start, stop: empty

    columns = [*history.key_names, *names, *META_COLUMNS]
    # event_time reads written_at and version only for chunks with same-(key, valid_from)
    # ties: they are two of the columns to decompress, and ties are rare.
    later = ["written_at", "version"] if as_of == "event_time" else []
    # Planning (Python-bound) starts on the time filter alone while Arrow and numpy code the
    # labels' keys; only when some key column has few distinct values is the scan planned
    # again, with them.
    timed = _time_filter(ts_us, ttl_us, as_of)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-plan") as planner:
        speculative = planner.submit(lambda: list(table.scan(row_filter=timed, selected_fields=tuple(columns)).plan_files()))
        coder = KeyCoder(label_keys)
        planned = _row_filter(coder, timed)
        scan = table.scan(row_filter=planned, selected_fields=tuple(columns))
        replanned = None if planned is timed else planner.submit(lambda: list(scan.plan_files()))
        codes, ts = coder.codes, as_us(ts_us)
        # One chunk: labels in their own order, no sort, no reordering.
        order = None if n <= chunk_rows else coder.order()
        tasks = (replanned or speculative).result()
    spans = [(start, min(n, start + chunk_rows)) for start in range(0, n, chunk_rows)]

    def rows_of(i: int) -> np.ndarray | slice:
        return slice(0, n) if order is None else order[spans[i][0] : spans[i][1]]

    def chunk_at(i: int) -> Chunk | None:
        if i >= len(spans):
            return None
        rows = rows_of(i)
        code, t = codes[rows], ts[rows]
        lo, hi = (0, coder.count - 1) if order is None else (int(code[0]), int(code[-1]))
        key_lo, key_hi = coder.first_key_range(lo, hi)
        return Chunk(lo, hi, key_lo, key_hi, None if ttl_us is None else int(t.min()) - ttl_us, int(t.max()))

    try:  # what DataScan.plan_files prunes files with (private in pyiceberg 0.8)
        from pyiceberg.expressions.visitors import _InclusiveMetricsEvaluator
    except ImportError:  # pragma: no cover - a pyiceberg without it: row groups are still pruned
        _InclusiveMetricsEvaluator = None
    projection = scan.projection()

    def read(i: int) -> HistoryRows:
        chunk = chunk_at(i)
        may_match: Callable[[Any], bool] = lambda task: True  # noqa: E731 - all planned for these labels
        if order is not None and _InclusiveMetricsEvaluator is not None:
            evaluate = _InclusiveMetricsEvaluator(table.schema(), _chunk_filter(planned, coder.names[0], chunk)).eval
            may_match = lambda task: evaluate(task.file)  # noqa: E731
        return _read(reader, chunk, chunk_at(i + 1), may_match, features)

    reader = HistoryReader(
        table, tasks, [c for c in columns if c not in later], later, history.key_names,
        fallback=lambda files, chunk: _arrow_scan(table, projection, files, _chunk_filter(planned, coder.names[0], chunk)),
        convert=lambda part, chunk, rest: _convert(part, chunk, coder, features, as_of, rest),
    )  # fmt: skip
    # The next chunk's history is read while this one is joined (Parquet decoding, Arrow
    # kernels and numpy's sort and search release the GIL), so at most two chunks' history
    # are in memory at once.
    parts = []
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-scan") as ahead_pool:
            ahead = ahead_pool.submit(read, 0)
            for i, (start, stop) in enumerate(spans):
                hist = ahead.result()
                if i + 1 < len(spans):
                    ahead = ahead_pool.submit(read, i + 1)
                rows = rows_of(i)
                parts.append(join_coded(codes[rows], ts[rows], hist, ttl_us, as_of))
                del hist
                if progress is not None:
                    progress(stop, n)
    finally:
        reader.close()
    if order is None:
        out = parts[0]
        return lambda start, stop: out.slice(start, stop - start)
    by_key = pa.concat_tables(parts)
    back = np.empty(n, dtype=np.int64)  # label row i sits at back[i] in key order
    back[order] = np.arange(n, dtype=np.int64)
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
    view: str | ViewSpec,
    as_of: AsOf = "event_time",
    *,
    settings: Settings | None = None,
    timestamp_column: str = "timestamp",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> pa.Table:
    """The labels, unchanged and in their order, with the view's features at each label's time.

    view: a registered view's name (resolved through the registry) or its ViewSpec; its TTL,
      key and history table come from the spec, so training expires values exactly as
      serving does. settings: where the registry and the Iceberg catalog are (default:
      the environment's).
    labels, as_of, timestamp_column, chunk_rows, progress: as `join_history`.
    """
    settings = settings or load_settings()
    spec = view if isinstance(view, ViewSpec) else Catalogue.from_settings(settings).spec(view)
    return join_history(
        labels, spec.name, CatalogConfig.from_settings(settings), spec.ttl_ms, as_of,
        timestamp_column=timestamp_column, chunk_rows=chunk_rows, progress=progress,
    )


def join_history(
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
    """The labels, unchanged and in their order, with a history table's features at each label's time.

    The table-level join under `get_historical_features`, for a history read without its
    view's spec (so the TTL is the caller's to give).

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


def iter_join_history(
    labels: Any,
    view: str | HistoryTable,
    catalog_cfg: CatalogConfig,
    ttl: timedelta | int | None,
    as_of: AsOf = "event_time",
    *,
    batch_rows: int = 100_000,
    **options: Any,
) -> Iterator[pa.Table]:
    """join_history's rows (same arguments and keyword options) as consecutive
    tables of up to batch_rows rows, in label order (one empty table for no labels), for
    writing to a file without building the whole result first.

    Every chunk is joined (and the labels validated) before the first table is yielded;
    what is held until the end is the feature columns, not the history."""
    unknown = set(options) - {"timestamp_column", "catalog", "chunk_rows", "progress"}
    if unknown:
        raise TypeError(f"iter_join_history got unexpected options {sorted(unknown)}")
    table_in, names, rows = _prepared(
        labels, view, catalog_cfg, ttl, as_of, options.get("timestamp_column", "timestamp"),
        options.get("catalog"), options.get("chunk_rows", DEFAULT_CHUNK_ROWS), options.get("progress"),
    )
    for start in range(0, max(1, table_in.num_rows), batch_rows):
        stop = min(table_in.num_rows, start + batch_rows)
        yield _with_features(table_in.slice(start, stop - start), names, rows(start, stop))
