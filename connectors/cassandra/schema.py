"""Keyspace and per-view table DDL, idempotent (`IF NOT EXISTS`).

A view's table has one partition per entity: the entity key is the whole primary key, so an
online read touches one partition and an upsert replaces that entity's latest values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from connectors.cassandra import cql
from connectors.cassandra.errors import CassandraConfigError, CassandraError
from connectors.cassandra.session import connect_cluster
from connectors.cassandra.views import view_columns

if TYPE_CHECKING:
    from connectors.cassandra.config import CassandraSinkConfig
    from skewless.spec import ViewSpec


def render_create_keyspace(keyspace: str, replication_factor: int = 1) -> str:
    if isinstance(replication_factor, bool) or not isinstance(replication_factor, int) or replication_factor < 1:
        raise CassandraConfigError(f"replication_factor must be a positive integer, got {replication_factor!r}")
    return (
        f"CREATE KEYSPACE IF NOT EXISTS {cql.keyspace_name(keyspace)} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    )


def render_create_table(keyspace: str, table: str, columns: Sequence[tuple[str, str]], key_column: str) -> str:
    """`columns` lists every (name, CQL type) of the view, the key column included."""
    names = [name for name, _ in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CassandraConfigError(f"duplicate columns in table {table!r}: {', '.join(duplicates)}")
    if key_column not in names:
        raise CassandraConfigError(f"key column {key_column!r} is not among the columns of table {table!r}: {names}")
    body = ", ".join(f"{cql.identifier(name, 'column')} {cql.cql_type(kind)}" for name, kind in columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {cql.qualified(keyspace, table)} "
        f"({body}, PRIMARY KEY ({cql.identifier(key_column, 'key column')}))"
    )


def create_view_table(
    session: Any,
    keyspace: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    key_column: str,
    *,
    replication_factor: int = 1,
) -> None:
    """Create the keyspace and the table when missing, on a cassandra-driver `Session`."""
    # Render both first, so bad config fails before anything is created.
    statements = [
        render_create_keyspace(keyspace, replication_factor),
        render_create_table(keyspace, table, columns, key_column),
    ]
    for statement in statements:
        session.execute(statement)


def ensure_view_table(config: CassandraSinkConfig, spec: ViewSpec) -> None:
    """Create the keyspace and table a view's sink writes to (before the job starts)."""
    columns = view_columns(spec)
    if tuple(name for name, _ in columns) != config.columns:
        raise CassandraConfigError(f"sink columns {list(config.columns)} do not match view {spec.name}'s {columns}")
    cluster = connect_cluster(config.contact_points, config.local_datacenter)
    try:
        session = cluster.connect()
        create_view_table(
            session,
            config.keyspace,
            config.table,
            columns,
            spec.entity_key,
            replication_factor=config.replication_factor,
        )
    except CassandraError:
        raise
    except Exception as exc:
        where = f"{config.keyspace}.{config.table} at {config.contact_points}"
        raise CassandraError(f"cannot create {where}: {exc}") from exc
    finally:
        cluster.shutdown()
