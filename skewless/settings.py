"""Where the pipeline's services are and how it runs: typed, frozen, overridable by SKEWLESS_* env vars.

Only the CLI and job entry points build Settings; library code receives values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skewless.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKEWLESS_", extra="forbid", frozen=True)

    home: Path = Field(default=REPO_ROOT / ".skewless", description="state folder for the stack, jars and Iceberg")
    kafka_bootstrap: str = "127.0.0.1:9092"
    cassandra_hosts: str = "127.0.0.1:9042"
    cassandra_local_dc: str = "datacenter1"
    cassandra_keyspace: str = "skewless"
    iceberg_namespace: str = "skewless"
    checkpoint_interval_ms: int = Field(default=10_000, ge=100)
    # Completed checkpoints an unbounded job keeps (the newest is where a restart resumes).
    checkpoints_retained: int = Field(default=3, ge=1)
    parallelism: int = Field(default=1, ge=1)
    # An event time further ahead of the clock than this is dead-lettered and moves no watermark.
    future_event_time_bound_ms: int = Field(default=300_000, ge=0)
    # A Kafka partition without records for this long stops holding back the watermark.
    source_idle_timeout_ms: int = Field(default=30_000, ge=1)
    # A SQLAlchemy URL (it may hold a password); empty: SQLite at <home>/registry.db.
    registry_url: SecretStr = Field(default=SecretStr(""), description="feature registry database URL")

    @model_validator(mode="before")
    @classmethod
    def _follow_stack_ports(cls, data: Any) -> Any:
        """Default the service addresses to the local stack's ports (SKEWLESS_KAFKA_PORT...)."""
        if isinstance(data, dict):
            kafka = os.environ.get("SKEWLESS_KAFKA_PORT")
            cassandra = os.environ.get("SKEWLESS_CASSANDRA_PORT")
            if kafka and "kafka_bootstrap" not in data and "SKEWLESS_KAFKA_BOOTSTRAP" not in os.environ:
                data = {**data, "kafka_bootstrap": f"127.0.0.1:{kafka}"}
            if cassandra and "cassandra_hosts" not in data and "SKEWLESS_CASSANDRA_HOSTS" not in os.environ:
                data = {**data, "cassandra_hosts": f"127.0.0.1:{cassandra}"}
        return data

    @field_validator("kafka_bootstrap", "cassandra_hosts")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for part in value.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{part!r} is not host:port")
        return value

    @field_validator("cassandra_keyspace", "iceberg_namespace")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not value.isidentifier():
            raise ValueError(f"{value!r} must be a letters/digits/underscore identifier")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment plus explicit overrides, with a readable error."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"SKEWLESS_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
