"""`skewless training-set`: a training set from a labels file and one view's Iceberg history.

The view comes from the catalogue (the registry), and with it the TTL and the entity key the
labels must carry; the catalog and namespace come from the settings (SKEWLESS_HOME,
SKEWLESS_ICEBERG_*), the same ones the job writes the history with.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from skewless.errors import SkewlessError
from skewless.options import WritablePath
from skewless.spec import ViewSpec
from skewless.training.errors import TrainingSetError
from skewless.training.historical import DEFAULT_CHUNK_ROWS, iter_join_history
from skewless.training.pit import AS_OF_MODES
from skewless.progress import Meter

OUTPUT_SUFFIXES = (".parquet", ".csv")


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


def check_labels(labels: pa.Table, path: Path, spec: ViewSpec, timestamp_column: str) -> None:
    """Refuse a labels file the join cannot use, saying which columns view `spec` needs."""
    needs = f"view {spec.name} needs a column {spec.entity_key} (its entity key) and a column {timestamp_column} (epoch ms)"
    missing = [c for c in (spec.entity_key, timestamp_column) if c not in labels.column_names]
    if missing:
        raise TrainingSetError(f"labels file {path} has no column {', '.join(missing)}; {needs}")
    if labels.num_rows == 0:
        raise TrainingSetError(f"labels file {path} has no rows; {needs}, one row per label")


def write_tables(tables: Iterator[pa.Table], path: Path) -> int:
    """Write consecutive tables of one schema to a .parquet or .csv file; return the row count.

    The file appears complete or not at all: rows go to a temporary file beside it first."""
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise TrainingSetError(f"output file {path} must end in .parquet or .csv")
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
        if writer is None:  # iter_join_history yields at least one table, even empty
            raise TrainingSetError(f"no rows to write to {path}")
        writer.close()
        writer = None
        os.replace(partial, path)
        return rows
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)


@click.command()
@click.option("--labels", "labels_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or Parquet with the view's entity key column, a timestamp column (epoch ms or "
                   "tz-aware) and any label columns.")
@click.option("--view", required=True, metavar="NAME[@VERSION]",
              help="Registered feature view; its TTL and entity key come from its spec.")
@click.option("--out", "out_path", type=WritablePath(OUTPUT_SUFFIXES),
              help="Write the training set here (.parquet or .csv); default: print the first rows.")
@click.option("--as-of", "as_of", type=click.Choice(AS_OF_MODES), default="event_time", show_default=True,
              help="event_time: as it happened; known_time: only what was written by each label's time.")
@click.option("--timestamp-column", default="timestamp", show_default=True)
@click.option("--chunk-rows", type=click.IntRange(min=1), default=DEFAULT_CHUNK_ROWS, show_default=True,
              help="Labels joined at a time: memory grows with it (about this many labels plus their "
                   "entities' history), speed barely does.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar (there is none when stderr is not a terminal).")
def training_set(
    labels_path: Path,
    view: str,
    out_path: Path | None,
    as_of: str,
    timestamp_column: str,
    chunk_rows: int,
    quiet: bool,
) -> None:
    """Join labels with point-in-time-correct features from the view's Iceberg history."""
    from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
    from connectors.iceberg.history import HistoryTable, history_identifier
    from skewless.registry.catalogue import Catalogue
    from skewless.settings import load_settings

    try:
        settings = load_settings()
        spec = Catalogue.from_settings(settings).spec(view)
        cfg = CatalogConfig.from_settings(settings)
        catalog = load_pyiceberg_catalog(cfg)
        from pyiceberg.exceptions import NoSuchTableError

        try:
            table = catalog.load_table(history_identifier(cfg.namespace, spec.name))
        except NoSuchTableError as exc:
            raise TrainingSetError(
                f"view {spec.name} has no history in namespace {cfg.namespace} of the {cfg.describe()}; "
                f"run it first (skewless run --view {spec.name}) or check SKEWLESS_HOME and SKEWLESS_ICEBERG_NAMESPACE"
            ) from exc
        history = HistoryTable.from_iceberg(table)
        arrow_schema = table.schema().as_arrow()
        labels = read_labels(labels_path, {k: arrow_schema.field(k).type for k in history.key_names})
        check_labels(labels, labels_path, spec, timestamp_column)
        bar = Meter("training set: labels joined", enabled=False if quiet else None, log_every_s=None)
        bar(0, labels.num_rows)
        batches = iter_join_history(
            labels, history, cfg, spec.ttl_ms, as_of,  # type: ignore[arg-type]
            timestamp_column=timestamp_column, catalog=catalog, chunk_rows=chunk_rows, progress=bar,
        )
        with bar:  # the rows come after the last chunk is joined
            if out_path is None:
                head = next(batches).slice(0, 20)
            else:
                rows = write_tables(batches, out_path)
    except SkewlessError as exc:
        raise click.ClickException(str(exc)) from exc
    if out_path is None:
        click.echo(head.to_pandas().to_string(index=False))
        click.echo(f"({labels.num_rows} rows; pass --out FILE to save them)")
    else:
        click.echo(f"wrote {rows} rows to {out_path}")
