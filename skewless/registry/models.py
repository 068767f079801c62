"""The registry's tables (SQLAlchemy 2, portable across SQLite and PostgreSQL).

A view version is immutable in what it computes: its `spec_json` only changes in its
metadata fields (owner, description, tags, freshness_slo, drift). Lineage edges are these foreign keys:
schema version -> source -> view version -> feature -> consumer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

REGISTRY_FORMAT = 1  # bump with a migration when the tables change


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out; SQLite stores it naive, PostgreSQL as timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("registry timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    __tablename__ = "registry_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class EntityRow(Base):
    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    keys: Mapped[list[Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SourceRow(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    topic: Mapped[str] = mapped_column(String(255))
    # The current definition (event_time, keys, derived, filter); each view version keeps
    # the row logic it was compiled with in its own spec.
    definition: Mapped[dict[str, Any]]
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    schemas: Mapped[list[SchemaVersionRow]] = relationship(
        back_populates="source", order_by="SchemaVersionRow.version"
    )


class SchemaVersionRow(Base):
    __tablename__ = "schema_versions"
    __table_args__ = (UniqueConstraint("source_id", "version"), UniqueConstraint("source_id", "fingerprint"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    version: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(16))  # CRC-64-AVRO of the canonical form, hex
    schema_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    source: Mapped[SourceRow] = relationship(back_populates="schemas")


class ViewRow(Base):
    __tablename__ = "views"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    content_hash: Mapped[str] = mapped_column(String(16))
    computation_hash: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]]
    spec_json: Mapped[str] = mapped_column(Text)  # ViewSpec.to_dict(), sorted keys
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    entity: Mapped[EntityRow] = relationship()
    source: Mapped[SourceRow] = relationship()
    features: Mapped[list[FeatureRow]] = relationship(back_populates="view", order_by="FeatureRow.position")


class FeatureRow(Base):
    __tablename__ = "features"
    __table_args__ = (UniqueConstraint("view_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    view_id: Mapped[int] = mapped_column(ForeignKey("views.id"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    op: Mapped[str] = mapped_column(String(64))
    column: Mapped[str | None] = mapped_column(String(200))
    value_type: Mapped[str] = mapped_column(String(32))

    view: Mapped[ViewRow] = relationship(back_populates="features")


class ConsumerRow(Base):
    __tablename__ = "consumers"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # "model" or "training-set"
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    features: Mapped[list[FeatureRow]] = relationship(secondary="consumer_features", order_by="FeatureRow.id")


class ConsumerFeatureRow(Base):
    __tablename__ = "consumer_features"

    consumer_id: Mapped[int] = mapped_column(ForeignKey("consumers.id"), primary_key=True)
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id"), primary_key=True)
