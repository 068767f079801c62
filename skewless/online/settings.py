"""Settings of `skewless online`: where Cassandra is and which view table to read.

Each field has a SKEWLESS_ environment override: SKEWLESS_CASSANDRA_HOST,
SKEWLESS_CASSANDRA_PORT (the same variable the local stack binds Cassandra to),
SKEWLESS_CASSANDRA_LOCAL_DC, SKEWLESS_CASSANDRA_KEYSPACE, SKEWLESS_ONLINE_VIEW,
SKEWLESS_ONLINE_TABLE. Command-line options override both.
"""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from skewless.errors import ConfigError


class OnlineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKEWLESS_", extra="forbid", frozen=True)

    cassandra_host: str = "127.0.0.1"
    cassandra_port: int = Field(9042, ge=1, le=65535)
    cassandra_local_dc: str = "datacenter1"
    cassandra_keyspace: str = "skewless"
    online_view: str | None = Field(None, description="view whose table, key, features and TTL to read")
    online_table: str | None = Field(None, description="table to read, overriding the view's")

    @property
    def contact_points(self) -> str:
        return f"{self.cassandra_host}:{self.cassandra_port}"


def load_online_settings(**overrides: object) -> OnlineSettings:
    """Environment plus the options given on the command line (None = not given)."""
    try:
        return OnlineSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid online settings: {problems}") from exc
