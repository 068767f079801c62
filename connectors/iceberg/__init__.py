"""Iceberg history: the catalog shared by Flink (Java JdbcCatalog) and pyiceberg, the
history table, and the Flink sink (`flink_sink`, the only module here importing pyflink)."""

from connectors.iceberg.catalog import CatalogConfig, flink_catalog_ddl, load_pyiceberg_catalog
from connectors.iceberg.errors import IcebergError
from connectors.iceberg.history import Column, HistoryTable, ensure_history_table

__all__ = [
    "CatalogConfig",
    "Column",
    "HistoryTable",
    "IcebergError",
    "ensure_history_table",
    "flink_catalog_ddl",
    "load_pyiceberg_catalog",
]
