"""Validate a labels table and bring its timestamps to one internal form.

Accepted `timestamp` column types (time is tz-aware or epoch ms at every boundary):
- integers: epoch milliseconds (UTC);
- timezone-aware timestamps (Arrow `timestamp[unit, tz]`, pandas `datetime64[ns, tz]`).
Naive datetimes, floats and strings are refused: each is a guess about time zone,
unit or missing values that the caller should make explicitly.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from skewless.options import SMALLEST_EPOCH_MS
from skewless.training.errors import TrainingSetError

# Epoch ms bounds a label time must lie in: 1973-03-03 (below, values look like
# epoch seconds; the rule of every epoch-ms option) to 2200-01-01 (above, like microseconds).
MIN_EPOCH_MS = SMALLEST_EPOCH_MS
MAX_EPOCH_MS = 7_258_118_400_000


def to_arrow(labels: Any) -> pa.Table:
    """Labels as an Arrow table (a pandas DataFrame's index is dropped)."""
    if isinstance(labels, pa.Table):
        return labels
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas ships with pyarrow's extras here
        pd = None
    if pd is not None and isinstance(labels, pd.DataFrame):
        try:
            return pa.Table.from_pandas(labels, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise TrainingSetError(f"labels DataFrame cannot be converted to Arrow: {exc}") from exc
    raise TrainingSetError(
        f"labels must be a pandas DataFrame or a pyarrow Table, got {type(labels).__name__}"
    )


def _first_null(column: pa.ChunkedArray) -> int:
    return int(pc.index(pc.is_null(column), True).as_py())


def label_times_us(labels: pa.Table, column: str) -> pa.ChunkedArray:
    """The label times as int64 epoch microseconds (the history's precision)."""
    if column not in labels.column_names:
        raise TrainingSetError(
            f"labels have no {column!r} column (columns: {labels.column_names}); "
            "add the instant each label is observed at, as epoch ms or tz-aware timestamps"
        )
    ts = labels[column]
    if ts.null_count:
        raise TrainingSetError(
            f"labels column {column!r} has {ts.null_count} missing values (first at row "
            f"{_first_null(ts)}); every label needs a timestamp"
        )
    kind = ts.type
    if pa.types.is_integer(kind):
        ms = ts.cast(pa.int64())
    elif pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise TrainingSetError(
                f"labels column {column!r} holds naive timestamps; make them timezone-aware "
                "(pandas: .dt.tz_localize('UTC')) or pass epoch milliseconds"
            )
        # Truncating below the microsecond keeps every `ts >= valid_from` comparison exact,
        # because history times are whole microseconds.
        return ts.cast(pa.timestamp("us", kind.tz), safe=False).cast(pa.int64())
    else:
        hint = " (a float column often means some values are missing)" if pa.types.is_floating(kind) else ""
        raise TrainingSetError(
            f"labels column {column!r} has type {kind}{hint}; use integer epoch milliseconds "
            "or timezone-aware timestamps"
        )
    if len(ms):
        lo, hi = pc.min_max(ms).values()
        if lo.as_py() < MIN_EPOCH_MS or hi.as_py() >= MAX_EPOCH_MS:
            raise TrainingSetError(
                f"labels column {column!r} ranges over [{lo}, {hi}], which is not epoch milliseconds "
                "between 1973 and 2200; convert seconds (x1000) or microseconds (/1000)"
            )
    return pc.multiply(ms, 1000)


def check_keys(labels: pa.Table, keys: dict[str, pa.DataType]) -> pa.Table:
    """Labels' key columns cast to the history's key types; missing or null keys refused."""
    missing = [k for k in keys if k not in labels.column_names]
    if missing:
        raise TrainingSetError(
            f"labels lack the entity key columns {missing} of the view (columns: {labels.column_names})"
        )
    out = {}
    for name, target in keys.items():
        column = labels[name]
        if column.null_count:
            raise TrainingSetError(
                f"labels key column {name!r} has {column.null_count} missing values (first at row "
                f"{_first_null(column)}); drop those labels or fill their entity"
            )
        both_text = all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in (column.type, target))
        both_int = pa.types.is_integer(column.type) and pa.types.is_integer(target)
        if not (both_text or both_int):
            raise TrainingSetError(
                f"labels key column {name!r} has type {column.type} but the history key is {target}; "
                "convert it (for CSV, read the column as that type)"
            )
        try:
            out[name] = column.cast(target)
        except pa.ArrowInvalid as exc:
            raise TrainingSetError(f"labels key column {name!r} does not fit {target}: {exc}") from exc
    return pa.table(out)
