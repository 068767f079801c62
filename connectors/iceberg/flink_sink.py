"""Append a view's update stream to its Iceberg history table from PyFlink.

Lifecycle: `add_history_sink` runs on the client while the job graph is built. It
creates the table with pyiceberg if missing (idempotent), registers the JDBC/REST
catalog in the table environment under the Iceberg catalog's own name (idempotent),
converts the update DataStream to a Table and adds `INSERT INTO <catalog>.<ns>.<view>_history`
to the caller's StatementSet; the caller executes the set.

Guarantees: Iceberg's Flink sink writes data files continuously and commits them in one
snapshot per checkpoint, so rows become visible to readers at checkpoints (exactly
once, given checkpointing and a replayable source). When a bounded input ends, the
committer commits the tail (checkpoint id Long.MAX_VALUE in the snapshot summary).
Without checkpointing an unbounded job would never commit, hence the check below.

Types: a "list<double>" feature travels as `Types.LIST(Types.DOUBLE())` (a java.util.List,
as the job's aggregator emits it) and enters the table as ARRAY<DOUBLE> bridged to
java.util.List (Flink's default ARRAY conversion class is Object[], which a List is not),
which Iceberg's Flink sink writes to the optional list<double> column; [] and null stay
distinct.
"""

from __future__ import annotations

from pyflink.common import Row
from pyflink.common.typeinfo import RowTypeInfo, TypeInformation, Types
from pyflink.datastream import DataStream
from pyflink.table import DataTypes, Schema, StreamTableEnvironment
from pyflink.table.expressions import col, to_timestamp_ltz
from pyflink.table.statement_set import StatementSet
from pyflink.table.types import DataType

from connectors.iceberg.catalog import CatalogConfig, flink_catalog_ddl
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import META_COLUMNS, TIME_COLUMNS, ColumnType, HistoryTable, ensure_history_table

_TYPE_INFO: dict[ColumnType, TypeInformation] = {
    "string": Types.STRING(),
    "long": Types.LONG(),
    "int": Types.INT(),
    "double": Types.DOUBLE(),
    "float": Types.FLOAT(),
    "boolean": Types.BOOLEAN(),
    "list<double>": Types.LIST(Types.DOUBLE()),
}


def _data_type(kind: ColumnType) -> DataType:
    return {
        "string": DataTypes.STRING(),
        "long": DataTypes.BIGINT(),
        "int": DataTypes.INT(),
        "double": DataTypes.DOUBLE(),
        "float": DataTypes.FLOAT(),
        "boolean": DataTypes.BOOLEAN(),
        "list<double>": DataTypes.ARRAY(DataTypes.DOUBLE()).bridged_to("java.util.List"),
    }[kind]


def update_row_type(history: HistoryTable) -> RowTypeInfo:
    """The `Types.ROW_NAMED` an update stream must carry: keys, features, then
    valid_from, written_at (epoch ms) and version, all BIGINT for the last three."""
    columns = [*history.keys, *history.features]
    names = [c.name for c in columns] + list(META_COLUMNS)
    types = [_TYPE_INFO[c.type] for c in columns] + [Types.LONG()] * len(META_COLUMNS)
    return Types.ROW_NAMED(names, types)


def update_row(history: HistoryTable, **values: object) -> Row:
    """A named Row in update_row_type order (handy for tests and from_collection)."""
    names = [*history.key_names, *history.feature_names, *META_COLUMNS]
    unknown = set(values) - set(names)
    if unknown:
        raise IcebergError(f"view {history.view}: unknown update columns {sorted(unknown)}; expected {names}")
    return Row(**{n: values.get(n) for n in names})


def register_catalog(t_env: StreamTableEnvironment, cfg: CatalogConfig) -> None:
    """Create the Flink catalog for cfg unless one of that name is already registered."""
    if cfg.name not in t_env.list_catalogs():
        t_env.execute_sql(flink_catalog_ddl(cfg))


def _check_checkpointing(updates: DataStream) -> None:
    if not updates.get_execution_environment().get_checkpoint_config().is_checkpointing_enabled():
        raise IcebergError(
            "the Iceberg history sink commits only on checkpoints, so without them no row would "
            "ever become visible: enable checkpointing (env.enable_checkpointing(ms), or "
            "execution.checkpointing.interval in the Configuration the environment is created "
            "with) before adding the sink"
        )


def add_history_sink(
    t_env: StreamTableEnvironment,
    statement_set: StatementSet,
    updates: DataStream,
    cfg: CatalogConfig,
    history: HistoryTable,
) -> str:
    """Add `INSERT INTO` the view's history table to statement_set; return the table path."""
    _check_checkpointing(updates)
    ensure_history_table(cfg, history)
    register_catalog(t_env, cfg)

    # Declaring NOT NULL on keys and times makes Flink's not-null enforcer reject a bad
    # update loudly (the Iceberg columns are required) instead of writing a hole.
    builder = Schema.new_builder()
    for c in history.keys:
        builder.column(c.name, _data_type(c.type).not_null())
    for c in history.features:
        builder.column(c.name, _data_type(c.type))
    for name in META_COLUMNS:
        builder.column(name, DataTypes.BIGINT().not_null())
    table = t_env.from_data_stream(updates, builder.build())

    # Epoch ms at the boundary, timestamptz (Flink TIMESTAMP_LTZ) in the table.
    projected = table.select(
        *(col(n) for n in (*history.key_names, *history.feature_names)),
        *(to_timestamp_ltz(col(n), 3).alias(n) for n in TIME_COLUMNS),
        col("version"),
    )
    path = f"`{cfg.name}`.`{cfg.namespace}`.`{history.table_name}`"
    statement_set.add_insert(path, projected)
    return path
