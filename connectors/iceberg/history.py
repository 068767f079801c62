"""The history table: every feature update of a view, appended, bitemporal.

Schema: entity key columns (required), feature columns (nullable), then
`valid_from` (event time), `written_at` (processing time), both timestamptz, and
`version` (the deterministic tie-breaker, long). Partitioned by day(valid_from) so a
training scan touches only the days its labels need; sorted by (keys, valid_from).

pyiceberg creates the table (so its metadata is what pyiceberg reads back) and records
which columns are keys in table properties, making the table self-describing for
training: `HistoryTable.from_iceberg` rebuilds the description from the table alone.

A "list<double>" feature (the `last_n` operation) is an optional Iceberg
`list<double>` whose elements are optional too: Flink's ARRAY<DOUBLE> (what the job's
`Types.LIST(Types.DOUBLE())` becomes) has nullable elements, and Iceberg's Flink writer
refuses to write a nullable element into a required one. An empty list and a null list
are different values and both round-trip. Field ids: top-level columns are 1..n in
schema order (keys, features, valid_from, written_at, version), then list element ids
n+1, n+2, ... in column order, which is the order Iceberg assigns fresh ids in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from connectors.iceberg.catalog import CatalogConfig, ensure_namespace, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.schema import Schema
    from pyiceberg.table import Table
    from pyiceberg.types import IcebergType

ColumnType = Literal["string", "long", "int", "double", "float", "boolean", "list<double>"]
LIST_TYPES: dict[str, str] = {"list<double>": "double"}  # a list column type -> its element type
TIME_COLUMNS = ("valid_from", "written_at")
META_COLUMNS = (*TIME_COLUMNS, "version")
# Rows per Parquet row group in files pyiceberg writes (Java's Flink writer ignores
# this property and sizes row groups by bytes). Row groups are the unit a scan skips by
# their min/max statistics, so within key-sorted files a training chunk's key range
# reads little beyond its own rows.
ROW_GROUP_ROWS = 16_384
KEYS_PROPERTY = "skewless.keys"
VIEW_PROPERTY = "skewless.view"


def history_identifier(namespace: str, view: str) -> str:
    """`<namespace>.<view>_history`."""
    return f"{namespace}.{view}_history"


def _iceberg_type(kind: ColumnType, element_id: int | None = None) -> IcebergType:
    """The Iceberg type of a column; a list type needs the field id of its element."""
    from pyiceberg import types as t

    if kind in LIST_TYPES:
        if element_id is None:
            raise IcebergError(f"a {kind} column needs a field id for its element")
        element = _iceberg_type(LIST_TYPES[kind])  # type: ignore[arg-type]
        return t.ListType(element_id=element_id, element_type=element, element_required=False)
    return {
        "string": t.StringType(),
        "long": t.LongType(),
        "int": t.IntegerType(),
        "double": t.DoubleType(),
        "float": t.FloatType(),
        "boolean": t.BooleanType(),
    }[kind]


def _column_type(field_type: IcebergType) -> ColumnType | None:
    """The ColumnType an Iceberg type stands for, or None when the history cannot hold it."""
    from pyiceberg.types import ListType

    if isinstance(field_type, ListType):
        if field_type.element_required:
            return None  # not what iceberg_schema creates, and Flink could not write it
        element = _column_type(field_type.element_type)
        kinds = [k for k, e in LIST_TYPES.items() if e == element]
        return kinds[0] if kinds else None  # type: ignore[return-value]
    if not field_type.is_primitive:
        return None
    by_type = {str(_iceberg_type(k)): k for k in get_args(ColumnType) if k not in LIST_TYPES}
    return by_type.get(str(field_type))


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise IcebergError(f"column name {self.name!r} must be a valid identifier")
        if self.type not in get_args(ColumnType):
            raise IcebergError(f"column {self.name}: type {self.type!r} is not one of {get_args(ColumnType)}")


@dataclass(frozen=True)
class HistoryTable:
    """The columns of one view's history; the namespace comes from the CatalogConfig."""

    view: str
    keys: tuple[Column, ...]
    features: tuple[Column, ...]

    def __post_init__(self) -> None:
        if not self.view.isidentifier():
            raise IcebergError(f"view name {self.view!r} must be a valid identifier")
        if not self.keys:
            raise IcebergError(f"view {self.view}: the history needs at least one entity key column")
        list_keys = [c.name for c in self.keys if c.type in LIST_TYPES]
        if list_keys:
            raise IcebergError(f"view {self.view}: entity key columns {list_keys} cannot be lists")
        names = [c.name for c in (*self.keys, *self.features)]
        reserved = {n for n in names if n in META_COLUMNS or n.startswith("__")}
        clash = sorted({n for n in names if names.count(n) > 1} | reserved)
        if clash:
            raise IcebergError(
                f"view {self.view}: column names {clash} are duplicated or reserved "
                f"({', '.join(META_COLUMNS)} are added by the history table, names starting "
                "with __ are internal); rename them"
            )

    @property
    def table_name(self) -> str:
        return f"{self.view}_history"

    def identifier(self, namespace: str) -> str:
        return history_identifier(namespace, self.view)

    @property
    def key_names(self) -> list[str]:
        return [c.name for c in self.keys]

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.features]

    def iceberg_schema(self) -> Schema:
        from pyiceberg.schema import Schema
        from pyiceberg.types import LongType, NestedField, TimestamptzType

        # Element ids come after every top-level id (see the module docstring).
        next_element_id = len(self.keys) + len(self.features) + len(META_COLUMNS) + 1

        def iceberg_type(column: Column) -> IcebergType:
            nonlocal next_element_id
            if column.type not in LIST_TYPES:
                return _iceberg_type(column.type)
            next_element_id += 1
            return _iceberg_type(column.type, next_element_id - 1)

        fields = [NestedField(i, c.name, iceberg_type(c), required=True) for i, c in enumerate(self.keys, 1)]
        fields += [
            NestedField(len(fields) + i, c.name, iceberg_type(c), required=False)
            for i, c in enumerate(self.features, 1)
        ]
        n = len(fields)
        fields += [
            NestedField(n + 1, "valid_from", TimestamptzType(), required=True),
            NestedField(n + 2, "written_at", TimestamptzType(), required=True),
            NestedField(n + 3, "version", LongType(), required=True),
        ]
        return Schema(*fields)

    @classmethod
    def from_iceberg(cls, table: Table) -> HistoryTable:
        """Rebuild the description from a history table's schema and properties."""
        name = ".".join(table.name())
        keys_prop = table.properties.get(KEYS_PROPERTY)
        view = table.properties.get(VIEW_PROPERTY)
        if not keys_prop or not view:
            raise IcebergError(
                f"table {name} is not a skewless history table (properties {KEYS_PROPERTY} and "
                f"{VIEW_PROPERTY} are missing); create it with ensure_history_table"
            )
        columns: dict[str, Column] = {}
        for field in table.schema().fields:
            if field.name in META_COLUMNS:
                continue
            kind = _column_type(field.field_type)
            if kind is None:
                raise IcebergError(f"table {name}: column {field.name} has unsupported type {field.field_type}")
            columns[field.name] = Column(field.name, kind)
        key_names = keys_prop.split(",")
        missing = [k for k in key_names if k not in columns]
        if missing:
            raise IcebergError(f"table {name}: key columns {missing} named in {KEYS_PROPERTY} are not in its schema")
        return cls(
            view=view,
            keys=tuple(columns[k] for k in key_names),
            features=tuple(c for n, c in columns.items() if n not in key_names),
        )


def _describe(field_type: IcebergType) -> str:
    """str() of the type, plus element nullability for lists (str() of a ListType omits it)."""
    from pyiceberg.types import ListType

    if isinstance(field_type, ListType):
        element = "required" if field_type.element_required else "optional"
        return f"list<{element} {_describe(field_type.element_type)}>"
    return str(field_type)


def _signature(schema: Schema) -> list[tuple[str, str, bool]]:
    return [(f.name, _describe(f.field_type), f.required) for f in schema.fields]


def ensure_history_table(cfg: CatalogConfig, history: HistoryTable, catalog: Catalog | None = None) -> Table:
    """Create the history table if missing and return it; check an existing one matches."""
    from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.table.sorting import SortField, SortOrder
    from pyiceberg.transforms import DayTransform, IdentityTransform

    catalog = catalog or load_pyiceberg_catalog(cfg)
    identifier = history.identifier(cfg.namespace)
    schema = history.iceberg_schema()
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        ensure_namespace(catalog, cfg)
        ids = {f.name: f.field_id for f in schema.fields}
        spec = PartitionSpec(
            PartitionField(source_id=ids["valid_from"], field_id=1000, transform=DayTransform(), name="valid_from_day")
        )
        order = SortOrder(
            *(SortField(source_id=ids[n], transform=IdentityTransform()) for n in (*history.key_names, "valid_from"))
        )
        properties = {
            KEYS_PROPERTY: ",".join(history.key_names),
            VIEW_PROPERTY: history.view,
            # Java creates tables with this property; without it Iceberg's Flink writer
            # falls back to gzip (seen with 1.11), pyiceberg already defaults to zstd.
            "write.parquet.compression-codec": "zstd",
            "write.parquet.row-group-limit": str(ROW_GROUP_ROWS),
        }
        try:
            return catalog.create_table(
                identifier, schema, partition_spec=spec, sort_order=order, properties=properties
            )
        except TableAlreadyExistsError:  # another process won the race
            table = catalog.load_table(identifier)
    if _signature(table.schema()) != _signature(schema):
        raise IcebergError(
            f"history table {identifier} in the {cfg.describe()} has columns "
            f"{_signature(table.schema())}, but view {history.view} now defines {_signature(schema)}; "
            "give the changed view a new name (or version) or migrate/drop the old table"
        )
    return table
