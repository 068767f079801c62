"""`skewless online get ID...`: print each entity's live online features as JSON lines.

The view comes from the catalogue (the registry); its table, entity key, features and TTL
from its spec; Cassandra's location and keyspace from the settings (SKEWLESS_*).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import click

from skewless.errors import SkewlessError


@click.group()
def online() -> None:
    """Read the online store (Cassandra)."""


@online.command()
@click.argument("entity_ids", nargs=-1, required=True)
@click.option("--view", metavar="NAME[@VERSION]", help="feature view to read (default: the only registered view)")
@click.option("--feature", "features", multiple=True, help="feature to read; repeatable (default: every feature of the view)")
def get(entity_ids: tuple[str, ...], view: str | None, features: tuple[str, ...]) -> None:
    """Print `{"entity": ID, "features": {...} | null}` per ID; null = no live value."""
    from connectors.cassandra.errors import CassandraError
    from connectors.cassandra.reader import OnlineReader
    from connectors.cassandra.session import ConnectionSecurity

    from skewless.registry.catalogue import Catalogue
    from skewless.settings import load_settings

    try:
        settings = load_settings()
        spec = Catalogue.from_settings(settings).only(view)
        config = reader_config(spec, settings, features)
        with OnlineReader(config, security=ConnectionSecurity.from_settings(settings.cassandra)) as reader:
            values = reader.get([reader.parse_key(i) for i in entity_ids])
    except (CassandraError, SkewlessError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(str(exc)) from exc
    for entity, found in values.items():
        click.echo(json.dumps({"entity": entity, "features": found}, default=_json_value))


def reader_config(spec: Any, settings: Any, features: tuple[str, ...]) -> Any:
    """The reader of `spec`'s table with the settings' Cassandra; `features` narrows the columns."""
    from connectors.cassandra.reader import OnlineReaderConfig

    if not features:
        return OnlineReaderConfig.for_view(spec, settings)
    from skewless.registry.catalogue import feature_names

    chosen = tuple(dict.fromkeys(name for f in features for name in feature_names(spec, f)))
    lists = tuple(f.name for f in spec.features if f.name in chosen and f.value_type == "list<double>")
    return OnlineReaderConfig.for_view(spec, settings, feature_columns=chosen, list_features=lists)


def _json_value(value: Any) -> Any:
    from connectors.cassandra.reader import epoch_ms

    if isinstance(value, datetime):
        return epoch_ms(value)  # epoch ms at every boundary
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")
