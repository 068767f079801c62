"""`skewless online get ID...`: print each entity's live online features as JSON lines."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import click

from skewless.errors import ConfigError, SkewlessError


@click.group()
def online() -> None:
    """Read the online store (Cassandra)."""


@online.command()
@click.argument("entity_ids", nargs=-1, required=True)
@click.option("--view", help="feature view to read (env SKEWLESS_ONLINE_VIEW; default: the only view)")
@click.option("--host", help="Cassandra host (env SKEWLESS_CASSANDRA_HOST, default 127.0.0.1)")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Cassandra port (env SKEWLESS_CASSANDRA_PORT, default 9042)"
)
@click.option("--datacenter", help="Cassandra local datacenter (env SKEWLESS_CASSANDRA_LOCAL_DC)")
@click.option("--keyspace", help="keyspace (env SKEWLESS_CASSANDRA_KEYSPACE, default skewless)")
@click.option("--table", help="table (env SKEWLESS_ONLINE_TABLE; default: the view's table)")
@click.option("--key-column", help="entity key column (default: the view's entity key)")
@click.option("--feature", "features", multiple=True, help="feature column to read; repeatable (default: the view's)")
@click.option("--ttl-ms", type=int, help="TTL applied at read time (default: the view's; 0 = none)")
def get(entity_ids, view, host, port, datacenter, keyspace, table, key_column, features, ttl_ms) -> None:
    """Print `{"entity": ID, "features": {...} | null}` per ID; null = no live value."""
    from connectors.cassandra.errors import CassandraError
    from connectors.cassandra.reader import OnlineReader

    from skewless.online.settings import load_online_settings

    try:
        settings = load_online_settings(
            cassandra_host=host,
            cassandra_port=port,
            cassandra_local_dc=datacenter,
            cassandra_keyspace=keyspace,
            online_view=view,
            online_table=table,
        )
        config = _reader_config(settings, key_column, features, ttl_ms)
        with OnlineReader(config) as reader:
            values = reader.get([reader.parse_key(i) for i in entity_ids])
    except (CassandraError, SkewlessError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(str(exc)) from exc
    for entity, found in values.items():
        click.echo(json.dumps({"entity": entity, "features": found}, default=_json_value))


def _reader_config(settings: Any, key_column: str | None, features: tuple[str, ...], ttl_ms: int | None) -> Any:
    from connectors.cassandra.reader import OnlineReaderConfig

    explicit = {
        "table": settings.online_table,
        "key_column": key_column,
        "feature_columns": tuple(features) or None,
        "ttl_ms": ttl_ms,
    }
    explicit = {k: v for k, v in explicit.items() if v is not None}
    common = {
        "contact_points": settings.contact_points,
        "local_datacenter": settings.cassandra_local_dc,
        "keyspace": settings.cassandra_keyspace,
    }
    spec = _view_spec(settings.online_view, required=not {"table", "key_column", "feature_columns"} <= explicit.keys())
    if spec is None:
        return OnlineReaderConfig(**common, **explicit)
    from connectors.cassandra.views import view_table

    derived = {
        "table": view_table(spec),
        "key_column": spec.entity_key,
        "feature_columns": tuple(spec.feature_names),
        "ttl_ms": spec.ttl_ms,
    }
    return OnlineReaderConfig(**common, **(derived | explicit))


def _view_spec(name: str | None, *, required: bool) -> Any:
    if name is None and not required:
        return None
    try:
        from features import VIEWS
    except ImportError as exc:
        raise ConfigError("no feature repository (features.VIEWS) to look views up in; pass --table, "
                          "--key-column and --feature") from exc
    if name is None:
        if len(VIEWS) != 1:
            raise ConfigError(f"several views exist ({', '.join(sorted(VIEWS))}); choose one with --view")
        return next(iter(VIEWS.values()))
    if name not in VIEWS:
        raise ConfigError(f"unknown view {name!r}; known: {', '.join(sorted(VIEWS))}")
    return VIEWS[name]


def _json_value(value: Any) -> Any:
    from connectors.cassandra.reader import epoch_ms

    if isinstance(value, datetime):
        return epoch_ms(value)  # epoch ms at every boundary
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")
