"""The history table created by pyiceberg: schema, partitioning, sort order, idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.iceberg.catalog import CatalogConfig, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table

VIEW = HistoryTable("user_stats", keys=(Column("user_id", "string"),),
                    features=(Column("avg_amount", "double"), Column("n_events", "long")))


def test_created_table_has_the_contract_schema(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    table = ensure_history_table(cfg, VIEW)
    assert ".".join(table.name()) == "skewless.user_stats_history"
    assert [(f.name, str(f.field_type), f.required) for f in table.schema().fields] == [
        ("user_id", "string", True),
        ("avg_amount", "double", False),
        ("n_events", "long", False),
        ("valid_from", "timestamptz", True),
        ("written_at", "timestamptz", True),
        ("version", "long", True),
    ]
    (field,) = table.spec().fields
    assert (str(field.transform), table.schema().find_column_name(field.source_id)) == ("day", "valid_from")
    sorted_by = [table.schema().find_column_name(f.source_id) for f in table.sort_order().fields]
    assert sorted_by == ["user_id", "valid_from"]
    assert table.properties["write.parquet.compression-codec"] == "zstd"
    assert table.location() == f"{cfg.warehouse}/skewless/user_stats_history"
    assert HistoryTable.from_iceberg(table) == VIEW


def test_creation_is_idempotent_and_checks_the_schema(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    first = ensure_history_table(cfg, VIEW)
    again = ensure_history_table(cfg, VIEW, load_pyiceberg_catalog(cfg))
    assert again.metadata_location == first.metadata_location
    changed = HistoryTable("user_stats", keys=VIEW.keys, features=(Column("avg_amount", "long"),))
    with pytest.raises(IcebergError, match="now defines"):
        ensure_history_table(cfg, changed)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keys": ()}, "at least one entity key"),
        ({"features": (Column("valid_from", "double"),)}, "reserved"),
        ({"features": (Column("user_id", "double"),)}, "duplicated"),
        ({"features": (Column("__ts", "double"),)}, "internal"),
        ({"view": "user-stats"}, "valid identifier"),
    ],
)
def test_bad_view_descriptions(kwargs: dict, message: str) -> None:
    with pytest.raises(IcebergError, match=message):
        HistoryTable(**({"view": "v", "keys": VIEW.keys, "features": VIEW.features} | kwargs))


def test_bad_columns() -> None:
    with pytest.raises(IcebergError, match="not one of"):
        Column("x", "decimal")  # type: ignore[arg-type]


def test_a_plain_table_is_not_a_history_table(tmp_path: Path) -> None:
    cfg = CatalogConfig(state_dir=tmp_path)
    catalog = load_pyiceberg_catalog(cfg)
    catalog.create_namespace("skewless")
    table = catalog.create_table("skewless.plain", VIEW.iceberg_schema())
    with pytest.raises(IcebergError, match="not a skewless history table"):
        HistoryTable.from_iceberg(table)
