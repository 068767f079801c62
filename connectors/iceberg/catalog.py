"""The Iceberg catalog shared by the Flink job (Java) and training (pyiceberg).

Both sides must see the same tables, so one frozen config derives both clients:

- kind `sql`: Iceberg's JDBC catalog. Java's `org.apache.iceberg.jdbc.JdbcCatalog` and
  pyiceberg's `SqlCatalog` use the same two tables (`iceberg_tables`,
  `iceberg_namespace_properties`), keyed by the catalog *name*, which is therefore shared
  too: the Flink catalog must be created under `cfg.name`. The default is a SQLite file
  under the state directory; a `postgresql://` URL selects PostgreSQL.
- kind `rest`: an Iceberg REST catalog.

The Iceberg committer runs on a task manager, so the catalog must be reachable from
there: SQLite (one file, WAL mode, local disks only) suits the local mini-cluster or a
single-host cluster; use PostgreSQL or REST when task managers run on other hosts.

Compatibility settings, each checked against Iceberg 1.11.0 and pyiceberg 0.8.1:

- `jdbc.schema-version=V0`: pyiceberg creates `iceberg_tables` without the `iceberg_type`
  column that Java's V1 (views) schema adds. V0 keeps Java from altering pyiceberg's
  table; either side may create the catalog tables first.
- SQLite locking: a commit is one short write transaction, but the two processes do
  contend. The busy timeout is set on both sides (`jdbc.busy_timeout` reaches the
  sqlite-jdbc driver, `?timeout=` reaches Python's sqlite3) so a contended write waits
  instead of failing with "database is locked", and the database runs in WAL mode so
  readers never block the Flink committer.
- Paths: the warehouse is a `file:` URI; Java writes `file:/x` and pyiceberg `file:///x`,
  and each reads the other's. The namespace gets an explicit `location` so that both
  clients lay tables out as `<warehouse>/<namespace>/<table>` (pyiceberg's default
  would be `<namespace>.db`).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PositiveInt, SecretStr, ValidationError, model_validator

from connectors.iceberg.errors import IcebergError
from skewless.errors import ConfigError

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from skewless.settings import Settings

JDBC_CATALOG_IMPL = "org.apache.iceberg.jdbc.JdbcCatalog"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogConfig(BaseModel):
    """Where the Iceberg catalog lives. Library code receives it; the CLI and jobs build it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sql", "rest"] = "sql"
    # Iceberg's catalog name: stored in every catalog row, so Flink and pyiceberg must agree.
    name: str = "skewless"
    namespace: str = "skewless"
    # Home of the default SQLite catalog (<state_dir>/iceberg/catalog.db) and warehouse.
    state_dir: Path = Path(".skewless")
    # sql: sqlite:////abs/path.db or postgresql://user@host:5432/db; rest: http(s)://host/path.
    uri: str | None = None
    # sql: a URI (file:///abs/dir, s3://bucket/prefix); rest: optional, as the server wants it.
    warehouse: str | None = None
    password: SecretStr | None = None  # PostgreSQL password (never in the URL)
    token: SecretStr | None = None  # REST bearer token
    busy_timeout_ms: PositiveInt = 30_000  # SQLite: how long a contended write waits

    @classmethod
    def from_settings(cls, settings: Settings) -> CatalogConfig:
        """The catalog the settings place: the one the job writes and every reader reads.

        SKEWLESS_HOME holds the default SQLite catalog and warehouse; SKEWLESS_ICEBERG_NAMESPACE,
        SKEWLESS_ICEBERG_URI and SKEWLESS_ICEBERG_WAREHOUSE override them."""
        given = {"uri": settings.iceberg.uri, "warehouse": settings.iceberg.warehouse}
        try:
            return cls(state_dir=settings.home, namespace=settings.iceberg.namespace, **{k: v for k, v in given.items() if v})
        except ValidationError as exc:
            problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise ConfigError(f"the Iceberg catalog settings are invalid (SKEWLESS_ICEBERG_*): {problems}") from None

    @model_validator(mode="before")
    @classmethod
    def _fill_sql_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("kind", "sql") != "sql":
            return data
        state = Path(data.get("state_dir") or ".skewless").expanduser().resolve()
        data = {**data, "state_dir": state}
        if not data.get("uri"):
            data["uri"] = f"sqlite:///{state / 'iceberg' / 'catalog.db'}"
        if not data.get("warehouse"):
            data["warehouse"] = (state / "iceberg" / "warehouse").as_uri()
        return data

    @model_validator(mode="after")
    def _check(self) -> CatalogConfig:
        for field in ("name", "namespace"):
            if not _IDENTIFIER.match(getattr(self, field)):
                raise ValueError(
                    f"catalog {field} {getattr(self, field)!r} must be a plain identifier "
                    "(letters, digits, underscore)"
                )
        if self.kind == "sql":
            self._check_sql_uri()
            self._check_warehouse()
        else:  # a REST catalog's warehouse may be a name the server resolves
            self._check_rest_uri()
        return self

    def _check_sql_uri(self) -> None:
        assert self.uri is not None  # filled by _fill_sql_defaults
        scheme = urlsplit(self.uri).scheme
        if scheme == "sqlite":
            path = self.uri[len("sqlite:///") :] if self.uri.startswith("sqlite:///") else ""
            if not path.startswith("/") or "?" in path:
                raise ValueError(
                    f"SQLite catalog uri {self.uri!r} must name an absolute file without options, "
                    "as sqlite:////abs/path/catalog.db (four slashes): Flink task managers and "
                    "Python must open the same file whatever their working directory"
                )
        elif scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
            parts = urlsplit(self.uri)
            if parts.password:
                raise ValueError(
                    "put the PostgreSQL password in the catalog's password setting, not in its uri"
                )
            if not parts.hostname or not parts.path.strip("/"):
                raise ValueError(
                    f"PostgreSQL catalog uri {self.uri!r} needs a host and a database: "
                    "postgresql://user@host:5432/dbname"
                )
        else:
            raise ValueError(
                f"sql catalog uri {self.uri!r}: use sqlite:////abs/path.db or "
                "postgresql://user@host:5432/dbname"
            )

    def _check_rest_uri(self) -> None:
        if not self.uri or urlsplit(self.uri).scheme not in ("http", "https"):
            raise ValueError(f"rest catalog needs an http(s) uri, got {self.uri!r}")

    def _check_warehouse(self) -> None:
        assert self.warehouse is not None
        parts = urlsplit(self.warehouse)
        if not parts.scheme or len(parts.scheme) == 1:  # len 1: a Windows drive letter
            raise ValueError(
                f"warehouse {self.warehouse!r} must be a URI such as file:///abs/dir or s3://bucket/prefix"
            )
        if parts.scheme == "file" and (parts.netloc or not parts.path.startswith("/")):
            raise ValueError(f"warehouse {self.warehouse!r}: write a local directory as file:///abs/dir")

    @property
    def is_sqlite(self) -> bool:
        return self.kind == "sql" and bool(self.uri) and self.uri.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.uri[len("sqlite:///") :]) if self.is_sqlite and self.uri else None

    @property
    def warehouse_path(self) -> Path | None:
        """The local warehouse directory, for a file: warehouse."""
        if self.warehouse and self.warehouse.startswith("file:"):
            return Path(urlsplit(self.warehouse).path)
        return None

    @property
    def namespace_location(self) -> str | None:
        return f"{self.warehouse.rstrip('/')}/{self.namespace}" if self.warehouse else None

    def describe(self) -> str:
        """A secret-free one-liner for messages."""
        return f"{self.kind} catalog {self.name!r} at {self.uri}"


def _postgres_parts(cfg: CatalogConfig) -> tuple[str, str | None, str, str]:
    """(host:port, user, database, query) of a PostgreSQL uri."""
    parts = urlsplit(cfg.uri or "")
    host = parts.hostname or ""
    hostport = f"{host}:{parts.port}" if parts.port else host
    return hostport, parts.username, parts.path.lstrip("/"), parts.query


def pyiceberg_properties(cfg: CatalogConfig) -> dict[str, str]:
    """The properties pyiceberg's `load_catalog` receives for this config (holds secrets)."""
    if cfg.kind == "rest":
        props = {"type": "rest", "uri": cfg.uri or ""}
        if cfg.warehouse:
            props["warehouse"] = cfg.warehouse
        if cfg.token:
            props["token"] = cfg.token.get_secret_value()
        return props
    assert cfg.uri is not None and cfg.warehouse is not None
    if cfg.is_sqlite:
        # Python's sqlite3 takes its busy timeout in seconds from the URL.
        uri = f"{cfg.uri}?timeout={cfg.busy_timeout_ms / 1000:g}"
    else:
        from sqlalchemy.engine import URL

        hostport, user, database, query = _postgres_parts(cfg)
        host, _, port = hostport.partition(":")
        scheme = urlsplit(cfg.uri).scheme
        uri = URL.create(
            "postgresql+psycopg2" if scheme in ("postgresql", "postgres") else scheme,
            username=user,
            password=cfg.password.get_secret_value() if cfg.password else None,
            host=host,
            port=int(port) if port else None,
            database=database,
            query=dict(p.split("=", 1) for p in query.split("&") if "=" in p),
        ).render_as_string(hide_password=False)
    return {"type": "sql", "uri": uri, "warehouse": cfg.warehouse}


def _enable_wal(path: Path) -> None:
    """WAL lets pyiceberg read while the Flink committer writes (and vice versa).

    The mode is stored in the database file, so setting it once covers the Java side too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30)
    try:
        if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def load_pyiceberg_catalog(cfg: CatalogConfig) -> Catalog:
    """Open the catalog with pyiceberg, creating the SQLite file and warehouse dir if needed."""
    from pyiceberg.catalog import load_catalog

    try:
        if cfg.sqlite_path is not None:
            _enable_wal(cfg.sqlite_path)
        if cfg.warehouse_path is not None:
            cfg.warehouse_path.mkdir(parents=True, exist_ok=True)
        return load_catalog(cfg.name, **pyiceberg_properties(cfg))
    except ModuleNotFoundError as exc:
        raise IcebergError(
            f"cannot open the {cfg.describe()}: Python module {exc.name!r} is missing "
            "(a PostgreSQL catalog needs psycopg2-binary, i.e. pyiceberg[sql-postgres])"
        ) from exc
    except Exception as exc:
        raise IcebergError(f"cannot open the {cfg.describe()}: {exc}") from exc


def ensure_namespace(catalog: Catalog, cfg: CatalogConfig) -> None:
    """Create cfg.namespace if missing (safe when another process races us)."""
    from pyiceberg.exceptions import NamespaceAlreadyExistsError

    if (cfg.namespace,) in catalog.list_namespaces():
        return
    props = {"exists": "true"}  # the marker both JDBC implementations look for
    if cfg.kind == "sql" and cfg.namespace_location:
        props["location"] = cfg.namespace_location
    try:
        catalog.create_namespace(cfg.namespace, props)
    except NamespaceAlreadyExistsError:
        pass


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def flink_catalog_options(cfg: CatalogConfig) -> dict[str, str]:
    """The `WITH (...)` options of the Flink Iceberg catalog for this config (holds secrets)."""
    options = {"type": "iceberg", "default-database": cfg.namespace, "cache-enabled": "false"}
    if cfg.kind == "rest":
        options |= {"catalog-type": "rest", "uri": cfg.uri or ""}
        if cfg.warehouse:
            options["warehouse"] = cfg.warehouse
        if cfg.token:
            options["token"] = cfg.token.get_secret_value()
        return options
    assert cfg.warehouse is not None
    options |= {"catalog-impl": JDBC_CATALOG_IMPL, "warehouse": cfg.warehouse, "jdbc.schema-version": "V0"}
    if cfg.sqlite_path is not None:
        options["uri"] = f"jdbc:sqlite:{cfg.sqlite_path}"
        options["jdbc.busy_timeout"] = str(cfg.busy_timeout_ms)  # a sqlite-jdbc pragma
    else:
        hostport, user, database, query = _postgres_parts(cfg)
        options["uri"] = f"jdbc:postgresql://{hostport}/{database}" + (f"?{query}" if query else "")
        if user:
            options["jdbc.user"] = user
        if cfg.password:
            options["jdbc.password"] = cfg.password.get_secret_value()
    return options


def flink_catalog_ddl(cfg: CatalogConfig, name: str | None = None) -> str:
    """`CREATE CATALOG <name> WITH (...)` for Flink SQL; the text holds secrets, never log it.

    `name` defaults to, and must equal, cfg.name: Iceberg's Flink catalog passes its own
    name to JdbcCatalog as the catalog name, which keys every row pyiceberg reads.
    """
    name = name or cfg.name
    if name != cfg.name:
        raise IcebergError(
            f"the Flink catalog must be named {cfg.name!r} like the Iceberg catalog, not {name!r}: "
            "JdbcCatalog stores the Flink catalog name in every row, so pyiceberg would not see "
            "the tables; set the catalog config's name instead"
        )
    body = ",\n".join(f"  {_quote(k)} = {_quote(v)}" for k, v in flink_catalog_options(cfg).items())
    return f"CREATE CATALOG `{name}` WITH (\n{body}\n)"
