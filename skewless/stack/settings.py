"""Where the local stack keeps its state and which 127.0.0.1 ports it binds.

Every field can be overridden from the environment with the SKEWLESS_ prefix:
SKEWLESS_HOME, SKEWLESS_KAFKA_PORT, SKEWLESS_KAFKA_CONTROLLER_PORT,
SKEWLESS_CASSANDRA_PORT, SKEWLESS_CASSANDRA_STORAGE_PORT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skewless.errors import ConfigError

Port = Annotated[int, Field(ge=1, le=65535)]


def repo_root() -> Path:
    """The checkout this package runs from: it holds jvm/ and the default state folder."""
    return Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKEWLESS_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=lambda: repo_root() / ".skewless")
    kafka_port: Port = 9092
    kafka_controller_port: Port = 9093
    cassandra_port: Port = 9042
    cassandra_storage_port: Port = 7000

    @field_validator("home")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        # Paths end up in generated configs and in the command lines that identify our
        # processes, so they must not depend on the current directory.
        return home.expanduser().resolve()

    @model_validator(mode="after")
    def _distinct_ports(self) -> StackSettings:
        ports = {
            "SKEWLESS_KAFKA_PORT": self.kafka_port,
            "SKEWLESS_KAFKA_CONTROLLER_PORT": self.kafka_controller_port,
            "SKEWLESS_CASSANDRA_PORT": self.cassandra_port,
            "SKEWLESS_CASSANDRA_STORAGE_PORT": self.cassandra_storage_port,
        }
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                raise ValueError(f"{name} and {seen[port]} are both {port}; give each service its own port")
            seen[port] = name
        return self

    @property
    def stack_dir(self) -> Path:
        return self.home / "stack"

    @property
    def logs_dir(self) -> Path:
        return self.stack_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.stack_dir / "pids"

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"


def load_settings() -> StackSettings:
    """Read the stack settings from the environment, as a ConfigError when invalid."""
    try:
        return StackSettings()
    except ValidationError as exc:
        raise ConfigError(f"invalid local stack setting in the SKEWLESS_* environment:\n{exc}") from exc


def state_root() -> Path:
    """The git-ignored folder for generated state: `<repo>/.skewless` or $SKEWLESS_HOME."""
    return load_settings().home
