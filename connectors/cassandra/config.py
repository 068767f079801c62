"""The sink's serializable config (pyflink-free, so schema setup and tools can use it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.cassandra import cql
from connectors.cassandra.errors import CassandraConfigError
from connectors.cassandra.session import parse_contact_points
from connectors.cassandra.views import view_columns, view_table

if TYPE_CHECKING:
    from skewless.settings import Settings
    from skewless.spec import ViewSpec

MAX_TTL_MS = 630_720_000 * 1000  # Cassandra's TTL limit: 20 years
Consistency = Literal["ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "EACH_QUORUM", "ALL"]


class CassandraSinkConfig(BaseModel):
    """Where and how one view's updates are upserted; the session is opened on the task manager.

    `columns` are the row's field names, in row order, and the table's columns: field i binds
    to column i. `valid_from_field` (epoch ms) drives the TTL, `version_field` (microseconds,
    deterministic) is the write's `USING TIMESTAMP`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_points: str = "127.0.0.1:9042"
    local_datacenter: str = "datacenter1"
    keyspace: str
    table: str
    columns: tuple[str, ...]
    valid_from_field: str = "valid_from"
    version_field: str = "version"
    ttl_ms: int = Field(0, le=MAX_TTL_MS, description="the view's TTL; <= 0 means values never expire")
    max_in_flight: int = Field(256, ge=1, description="outstanding async writes per sink subtask")
    consistency: Consistency = "LOCAL_QUORUM"
    replication_factor: int = Field(1, ge=1, description="used when the keyspace is created")

    @model_validator(mode="after")
    def _check(self) -> CassandraSinkConfig:
        parse_contact_points(self.contact_points)
        cql.render_upsert(self.keyspace, self.table, self.columns)  # validates every name
        if len(set(self.columns)) != len(self.columns):
            raise CassandraConfigError(f"columns repeat a name: {list(self.columns)}")
        for role, name in (("valid_from_field", self.valid_from_field), ("version_field", self.version_field)):
            if name not in self.columns:
                raise CassandraConfigError(f"{role} {name!r} is not among columns {list(self.columns)}")
        if self.valid_from_field == self.version_field:
            raise CassandraConfigError("valid_from_field and version_field must be different fields")
        return self

    @classmethod
    def for_view(cls, spec: ViewSpec, settings: Settings, **overrides: object) -> CassandraSinkConfig:
        return cls(
            contact_points=settings.cassandra.hosts,
            local_datacenter=settings.cassandra.local_dc,
            keyspace=settings.cassandra.keyspace,
            table=view_table(spec),
            columns=tuple(name for name, _ in view_columns(spec)),
            ttl_ms=spec.ttl_ms,
            **overrides,
        )

    @property
    def statement(self) -> str:
        return cql.render_upsert(self.keyspace, self.table, self.columns)

    @property
    def ttl_seconds(self) -> int:
        """Cassandra counts whole seconds; rounding up keeps storage at least as long as the rule."""
        return -(-self.ttl_ms // 1000) if self.ttl_ms > 0 else 0

    @property
    def valid_from_index(self) -> int:
        return self.columns.index(self.valid_from_field)

    @property
    def version_index(self) -> int:
        return self.columns.index(self.version_field)
