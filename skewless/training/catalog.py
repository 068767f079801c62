"""The Iceberg catalog that holds the views' histories, as the settings place it.

One derivation for every reader (training sets, verify, history maintenance, the demo) and
the same one the job writes with: SKEWLESS_HOME for the default SQLite catalog and
warehouse, SKEWLESS_ICEBERG_NAMESPACE, SKEWLESS_ICEBERG_URI and SKEWLESS_ICEBERG_WAREHOUSE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from connectors.iceberg.catalog import CatalogConfig
from skewless.errors import ConfigError

if TYPE_CHECKING:
    from skewless.settings import Settings


def catalog_config(settings: Settings) -> CatalogConfig:
    given = {"uri": settings.iceberg.uri, "warehouse": settings.iceberg.warehouse}
    try:
        return CatalogConfig(
            state_dir=settings.home, namespace=settings.iceberg.namespace, **{k: v for k, v in given.items() if v}
        )
    except ValidationError as exc:
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"the Iceberg catalog settings are invalid: {problems}") from None
