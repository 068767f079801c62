"""Training sets: point-in-time-correct features for labelled instants, from the Iceberg history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

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
    from pyiceberg.table import Table

# Up to this many distinct entities, the scan filters on them (In); beyond, on time only.
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


def get_historical_features(
    labels: Any,
    view: str | HistoryTable,
    catalog_cfg: CatalogConfig,
    ttl: timedelta | int | None,
    as_of: AsOf = "event_time",
    *,
    timestamp_column: str = "timestamp",
    catalog: Catalog | None = None,
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
    """
    if as_of not in AS_OF_MODES:
        raise TrainingSetError(f"as_of must be one of {AS_OF_MODES}, got {as_of!r}")
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

    if table_in.num_rows:
        scan = table.scan(
            row_filter=_row_filter(label_keys, ts_us, ttl_us, as_of),
            selected_fields=(*history.key_names, *history.feature_names, *META_COLUMNS),
        )
        rows = scan.to_arrow()
    else:
        rows = arrow_schema.empty_table()
    features = point_in_time_join(
        label_keys, ts_us, rows, history.key_names, history.feature_names, ttl_us, as_of
    )
    out = table_in
    for name in history.feature_names:
        out = out.append_column(name, features[name])
    return out
