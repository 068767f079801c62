"""Where the pipeline's services are and how it runs: one typed, frozen Settings.

Every field has one environment variable, SKEWLESS_<SECTION>_<FIELD> (SKEWLESS_HOME for the
state folder): SKEWLESS_KAFKA_PORT, SKEWLESS_CASSANDRA_LOCAL_DC, SKEWLESS_JOB_PARALLELISM...
`environment_names()` lists them all. Only the CLI, job entry points and tests build Settings;
library code receives values.

A bad value is reported by the variable that holds it, in one line
(`SKEWLESS_KAFKA_PORT: must be an integer 1-65535, got 'abc'`), and a SKEWLESS_ variable that
is not a setting but looks like a misspelt one is an error too: a setting silently ignored
would run the pipeline with a configuration nobody asked for.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError
from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from skewless.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_PREFIX = "SKEWLESS_"
LOCALHOST = "127.0.0.1"


def _port(value: Any) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError("must be an integer 1-65535")
    return int(text)


def _host_ports(value: str) -> str:
    for part in value.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError("must be host:port[,host:port...]")
    return value


def _identifier(value: str) -> str:
    if not value.isidentifier():
        raise ValueError("must be a letters/digits/underscore identifier")
    return value


Port = Annotated[int, BeforeValidator(_port)]
HostPorts = Annotated[str, AfterValidator(_host_ports)]
Identifier = Annotated[str, AfterValidator(_identifier)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _default_address(data: Any, address: str, port: str, default_port: int) -> Any:
    """Point `address` at 127.0.0.1:<port> unless it is given; a bad port is left to its own check."""
    if not isinstance(data, dict) or data.get(address):
        return data
    try:
        return {**data, address: f"{LOCALHOST}:{_port(data.get(port, default_port))}"}
    except ValueError:
        return data


class KafkaSettings(_Section):
    bootstrap: HostPorts = Field(f"{LOCALHOST}:9092", description="brokers; default 127.0.0.1:<kafka.port>")
    port: Port = Field(9092, description="client port of the local stack's broker")
    controller_port: Port = Field(9093, description="KRaft controller port of the local stack's broker")

    @model_validator(mode="before")
    @classmethod
    def _bootstrap_follows_port(cls, data: Any) -> Any:
        return _default_address(data, "bootstrap", "port", 9092)


class CassandraSettings(_Section):
    hosts: HostPorts = Field(f"{LOCALHOST}:9042", description="contact points; default 127.0.0.1:<cassandra.port>")
    port: Port = Field(9042, description="native (CQL) port of the local stack's node")
    storage_port: Port = Field(7000, description="inter-node port of the local stack's node")
    local_dc: str = "datacenter1"
    keyspace: Identifier = "skewless"
    # For clusters with authentication or TLS: the read path (online get, the SDK) uses them;
    # the job's sink does not yet, so a job can only write to a cluster without either.
    username: str = Field("", description="login for password authentication (empty: none)")
    password: SecretStr = Field(SecretStr(""), description="password for `username`")
    tls_ca_file: Path | None = Field(None, description="PEM file of the CA that signed the nodes' certificates")

    @model_validator(mode="before")
    @classmethod
    def _hosts_follow_port(cls, data: Any) -> Any:
        return _default_address(data, "hosts", "port", 9042)


class IcebergSettings(_Section):
    namespace: Identifier = "skewless"
    # Read by CatalogConfig.from_settings (job and readers alike); empty: the SQLite catalog and warehouse under
    # <home>/iceberg.
    uri: str = Field("", description="catalog URI: sqlite:////abs/path.db or postgresql://...")
    warehouse: str = Field("", description="warehouse URI, e.g. file:///abs/dir")


class RegistrySettings(_Section):
    # A SQLAlchemy URL (it may hold a password); empty: SQLite at <home>/registry.db.
    url: SecretStr = Field(SecretStr(""), description="feature registry database URL")


class JobSettings(_Section):
    checkpoint_interval_ms: int = Field(10_000, ge=100)
    # Completed checkpoints an unbounded job keeps (the newest is where a restart resumes).
    checkpoints_retained: int = Field(3, ge=1)
    parallelism: int = Field(1, ge=1)
    # An event time further ahead of the clock than this is dead-lettered and moves no watermark.
    future_event_time_bound_ms: int = Field(300_000, ge=0)
    # A Kafka partition without records for this long stops holding back the watermark.
    source_idle_timeout_ms: int = Field(30_000, ge=1)


class ClusterSettings(_Section):
    """The local Flink session cluster of `skewless cluster up` (one JobManager, N TaskManagers)."""

    rest_port: Port = Field(8081, description="the JobManager's REST API and web UI")
    rpc_port: Port = Field(6123, description="the JobManager's RPC port, which TaskManagers connect to")
    taskmanagers: int = Field(2, ge=1, le=16)
    slots: int = Field(2, ge=1, le=64, description="task slots per TaskManager")


class ServingSettings(_Section):
    host: str = LOCALHOST
    port: Port = 8000


class PrometheusSettings(_Section):
    port: Port = Field(9090, description="port of the local stack's Prometheus (`stack up --with prometheus`)")
    scrape_interval_s: int = Field(5, ge=1, le=300, description="how often it scrapes the jobs and the server")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="_",
        env_nested_max_split=1,  # SKEWLESS_JOB_CHECKPOINT_INTERVAL_MS -> job.checkpoint_interval_ms
        extra="forbid",
        frozen=True,
    )

    home: Path = Field(REPO_ROOT / ".skewless", description="state folder: stack, jars, checkpoints, Iceberg")
    kafka: KafkaSettings = KafkaSettings()
    cassandra: CassandraSettings = CassandraSettings()
    iceberg: IcebergSettings = IcebergSettings()
    registry: RegistrySettings = RegistrySettings()
    job: JobSettings = JobSettings()
    cluster: ClusterSettings = ClusterSettings()
    serving: ServingSettings = ServingSettings()
    prometheus: PrometheusSettings = PrometheusSettings()

    @field_validator("home")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        # Paths end up in generated configs, checkpoints and the command lines that identify
        # the stack's processes, so they must not depend on the current directory.
        return home.expanduser().resolve()

    @model_validator(mode="after")
    def _distinct_ports(self) -> Settings:
        seen: dict[int, str] = {}
        for name, port in self.local_ports().items():
            if port in seen:
                raise ValueError(f"{name} and {seen[port]} are both {port}; give each service its own port")
            seen[port] = name
        return self

    def local_ports(self) -> dict[str, int]:
        """The 127.0.0.1 ports the local stack and server bind, by their variable."""
        return {
            "SKEWLESS_KAFKA_PORT": self.kafka.port,
            "SKEWLESS_KAFKA_CONTROLLER_PORT": self.kafka.controller_port,
            "SKEWLESS_CASSANDRA_PORT": self.cassandra.port,
            "SKEWLESS_CASSANDRA_STORAGE_PORT": self.cassandra.storage_port,
            "SKEWLESS_CLUSTER_REST_PORT": self.cluster.rest_port,
            "SKEWLESS_CLUSTER_RPC_PORT": self.cluster.rpc_port,
            "SKEWLESS_SERVING_PORT": self.serving.port,
            "SKEWLESS_PROMETHEUS_PORT": self.prometheus.port,
        }

    def to_environ(self) -> dict[str, str]:
        """These settings as SKEWLESS_* variables (secrets revealed), for a child process."""
        out = {}
        for loc, value in _leaves(self.model_dump()):
            if value is None:
                continue
            secret = getattr(value, "get_secret_value", None)
            out[env_name(loc)] = str(secret() if secret else value)
        return out


def _leaves(data: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out: list[tuple[tuple[str, ...], Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += _leaves(value, (*prefix, key))
        else:
            out.append(((*prefix, key), value))
    return out


def env_name(loc: tuple[str | int, ...]) -> str:
    """The environment variable of a field path: ("kafka", "port") -> SKEWLESS_KAFKA_PORT."""
    return ENV_PREFIX + "_".join(str(p) for p in loc).upper()


def environment_names() -> list[str]:
    """Every SKEWLESS_* variable Settings reads."""
    names = []
    for field, info in Settings.model_fields.items():
        section = info.annotation
        if isinstance(section, type) and issubclass(section, _Section):
            names += [env_name((field, sub)) for sub in section.model_fields]
        else:
            names.append(env_name((field,)))
    return names


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus `overrides` (None = not given; a section as a dict,
    e.g. cassandra={"keyspace": "demo"}, merged with the environment's values).

    Raises ConfigError with one line per bad variable, naming it.
    """
    _reject_misspelt_variables(os.environ)
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError("; ".join(dict.fromkeys(_describe(e) for e in exc.errors()))) from None


def _describe(error: Any) -> str:
    loc = tuple(error["loc"])
    kind, value = error["type"], error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return _unknown(env_name(loc))
    if not loc:  # a check across fields: its message names the variables
        return message
    if kind == "int_parsing":
        message = "must be an integer"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        message = message.replace("Input should be", "must be")
    shown = "" if isinstance(value, (dict, SecretStr)) or "password" in loc or "url" in loc else f", got {value!r}"
    return f"{env_name(loc)}: {message}{shown}"


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, environment_names(), n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else f"; the settings are: {', '.join(environment_names())}"
    return f"{name} is not a setting{hint}"


def _reject_misspelt_variables(environ: Any) -> None:
    """SKEWLESS_* variables outside every section that resemble a setting (a section's own
    unknown fields are caught by validation). Others are left alone: tools may use the prefix."""
    known = environment_names()
    sections = {n.removeprefix(ENV_PREFIX).split("_", 1)[0] for n in known}
    problems = []
    for name in sorted(n.upper() for n in environ):
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        if name.removeprefix(ENV_PREFIX).split("_", 1)[0] in sections:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        if close:
            problems.append(f"{name} is not a setting; did you mean {close[0]}?")
    if problems:
        raise ConfigError("; ".join(problems))


def writable_home(settings: Settings) -> Path:
    """Create the state folder if needed and prove it writable, or say which variable to fix."""
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as exc:
        action = "write to" if os.path.isdir(home) else "create"
        raise ConfigError(
            f"SKEWLESS_HOME={home}: cannot {action} it ({exc.strerror or exc}); "
            "point SKEWLESS_HOME at a folder you can write"
        ) from None
    return home
