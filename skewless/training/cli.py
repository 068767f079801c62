"""`training_set`: build a training set from a labels file (wired into the main CLI by the lead).

The catalog comes from the parent command's context (`ctx.obj["catalog"]`, a
CatalogConfig) when there is one, else from the options below, which read SKEWLESS_...
environment variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import ValidationError

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.history import HistoryTable, history_identifier
from skewless.errors import SkewlessError
from skewless.training.errors import TrainingSetError
from skewless.training.historical import DEFAULT_CHUNK_ROWS, iter_historical_features
from skewless.training.pit import AS_OF_MODES
from skewless.progress import Meter

_TTL = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, None: 1}


def parse_ttl(text: str) -> timedelta | None:
    """'30d', '12h', '15m', '90s', '500ms' or a bare number of ms; 'none' for no expiry."""
    if text.strip().lower() == "none":
        return None
    match = _TTL.match(text)
    if not match or int(match.group(1)) == 0:
        raise TrainingSetError(f"--ttl {text!r}: write a positive duration like 30d, 12h, 15m, 90s, 500ms, or none")
    return timedelta(milliseconds=int(match.group(1)) * _UNIT_MS[match.group(2)])


def read_labels(path: Path, key_types: dict[str, pa.DataType]) -> pa.Table:
    """A CSV or Parquet labels file; CSV keys are read with the history's key types."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pq.read_table(path)
        if suffix == ".csv":
            return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=key_types))
    except (OSError, pa.ArrowInvalid) as exc:
        raise TrainingSetError(f"cannot read labels {path}: {exc}") from exc
    raise TrainingSetError(f"labels file {path} must end in .csv or .parquet")


def _check_out(path: Path) -> None:
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise TrainingSetError(f"output file {path} must end in .parquet or .csv")


def write_tables(tables: Iterator[pa.Table], path: Path) -> int:
    """Write consecutive tables of one schema to a .parquet or .csv file; return the row count.

    The file appears complete or not at all: rows go to a temporary file beside it first."""
    _check_out(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    rows = 0
    try:
        for table in tables:
            if writer is None:
                parquet = path.suffix.lower() == ".parquet"
                writer = pq.ParquetWriter(partial, table.schema) if parquet else pacsv.CSVWriter(partial, table.schema)
            writer.write_table(table)
            rows += table.num_rows
        if writer is None:  # iter_historical_features yields at least one table, even empty
            raise TrainingSetError(f"no rows to write to {path}")
        writer.close()
        writer = None
        os.replace(partial, path)
        return rows
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)


def _catalog_config(ctx: click.Context, state_dir: str | None, uri: str | None, warehouse: str | None) -> CatalogConfig:
    from_parent = (ctx.obj or {}).get("catalog") if isinstance(ctx.obj, dict) else None
    if isinstance(from_parent, CatalogConfig):
        return from_parent
    given = {"state_dir": state_dir, "uri": uri, "warehouse": warehouse}
    try:
        return CatalogConfig(**{k: v for k, v in given.items() if v})
    except ValidationError as exc:
        raise TrainingSetError(f"catalog settings are invalid: {exc}") from exc


@click.command()
@click.option("--labels", "labels_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or Parquet with the entity key column(s), a timestamp column (epoch ms or "
                   "tz-aware) and any label columns.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the training set here (.parquet or .csv); default: print the first rows.")
@click.option("--view", required=True, help="Feature view name; its history is <namespace>.<view>_history.")
@click.option("--ttl", required=True, help="The view's TTL: 30d, 12h, 15m, 90s, 500ms, or none.")
@click.option("--as-of", "as_of", type=click.Choice(AS_OF_MODES), default="event_time", show_default=True,
              help="event_time: as it happened; known_time: only what was written by each label's time.")
@click.option("--timestamp-column", default="timestamp", show_default=True)
@click.option("--chunk-rows", type=click.IntRange(min=1), default=DEFAULT_CHUNK_ROWS, show_default=True,
              help="Labels joined at a time: memory grows with it (about this many labels plus their "
                   "entities' history), speed barely does.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
@click.option("--state-dir", envvar="SKEWLESS_STATE_DIR", help="Holds the default SQLite catalog.")
@click.option("--catalog-uri", envvar="SKEWLESS_ICEBERG_URI", help="sqlite:////abs/path.db or postgresql://...")
@click.option("--warehouse", envvar="SKEWLESS_ICEBERG_WAREHOUSE", help="Warehouse URI, e.g. file:///abs/dir.")
@click.pass_context
def training_set(
    ctx: click.Context,
    labels_path: Path,
    out_path: Path | None,
    view: str,
    ttl: str,
    as_of: str,
    timestamp_column: str,
    chunk_rows: int,
    quiet: bool,
    state_dir: str | None,
    catalog_uri: str | None,
    warehouse: str | None,
) -> None:
    """Join labels with point-in-time-correct features from the view's Iceberg history."""
    try:
        if out_path is not None:
            _check_out(out_path)
        ttl_value = parse_ttl(ttl)
        cfg = _catalog_config(ctx, state_dir, catalog_uri, warehouse)
        catalog = load_pyiceberg_catalog(cfg)
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = catalog.load_table(history_identifier(cfg.namespace, view))
        except NoSuchTableError as exc:
            raise TrainingSetError(
                f"view {view!r} has no history table in the {cfg.describe()}; check --view and the catalog"
            ) from exc
        history = HistoryTable.from_iceberg(table)
        arrow_schema = table.schema().as_arrow()
        labels = read_labels(labels_path, {k: arrow_schema.field(k).type for k in history.key_names})
        bar = Meter("training set: labels joined", enabled=False if quiet else None, log_every_s=None)
        bar(0, labels.num_rows)
        batches = iter_historical_features(
            labels, history, cfg, ttl_value, as_of,  # type: ignore[arg-type]
            timestamp_column=timestamp_column, catalog=catalog, chunk_rows=chunk_rows, progress=bar,
        )
        with bar:  # the rows come after the last chunk is joined
            if out_path is None:
                head = next(batches).slice(0, 20)
            else:
                rows = write_tables(batches, out_path)
        if out_path is None:
            click.echo(head.to_pandas().to_string(index=False))
            click.echo(f"({labels.num_rows} rows; pass --out FILE to save them)")
        else:
            click.echo(f"wrote {rows} rows to {out_path}")
    except SkewlessError as exc:
        raise click.ClickException(str(exc)) from exc
