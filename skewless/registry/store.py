"""The registry: entities, sources with schema versions, view versions, consumers, lineage.

SQLite at `<home>/registry.db` by default, or any SQLAlchemy URL (PostgreSQL needs its
driver installed, e.g. `postgresql+psycopg://...`). Jobs read what they run from here:
`view_spec(name, version)` and `schema_texts(source)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, selectinload

from skewless.dsl.repo import FeatureRepo, load_repo
from skewless.registry.errors import RegistryError
from skewless.registry.lineage import Direction, LineageTree, build_graph
from skewless.registry.models import (
    REGISTRY_FORMAT,
    Base,
    ConsumerRow,
    EntityRow,
    FeatureRow,
    Meta,
    SourceRow,
    ViewRow,
)
from skewless.registry.plan import Plan, make_plan
from skewless.spec import ViewSpec

CONSUMER_KINDS = ("model", "training-set")


def default_url(home: Path) -> str:
    return f"sqlite:///{Path(home).resolve() / 'registry.db'}"


@dataclass(frozen=True)
class FeatureRef:
    """`view[@version]:feature`; without a version, the view's latest version."""

    view: str
    version: int | None
    feature: str

    @classmethod
    def parse_list(cls, text: str) -> list[FeatureRef]:
        """'v:a,b,w@2:c' -> v:a, v:b, w@2:c (a bare name continues the previous view)."""
        refs: list[FeatureRef] = []
        current: tuple[str, int | None] | None = None
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if ":" in part:
                view, _, feature = part.partition(":")
                name, _, version = view.partition("@")
                if version and not version.isdigit():
                    raise RegistryError(f"feature {part!r}: the version after '@' must be a number")
                current = (name, int(version) if version else None)
            elif current is None:
                raise RegistryError(
                    f"feature {part!r} needs its view: write view:feature, e.g. user_transactions:{part}"
                )
            else:
                feature = part
            refs.append(cls(current[0], current[1], feature))
        if not refs:
            raise RegistryError("no features given; write e.g. user_transactions:avg_amount_30d,count_30d")
        return refs


@dataclass(frozen=True)
class ViewInfo:
    name: str
    version: int
    entity: str
    source: str
    topic: str
    features: tuple[str, ...]
    owner: str
    tags: tuple[str, ...]
    content_hash: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SourceInfo:
    name: str
    topic: str
    schema_versions: tuple[int, ...]
    latest_fingerprint: str | None


@dataclass(frozen=True)
class ConsumerInfo:
    kind: str
    name: str
    features: tuple[str, ...]  # "view@version:feature"


@dataclass(frozen=True)
class Listing:
    entities: tuple[tuple[str, tuple[str, ...]], ...]  # (name, keys)
    sources: tuple[SourceInfo, ...]
    views: tuple[ViewInfo, ...]
    consumers: tuple[ConsumerInfo, ...]

    def to_dict(self) -> dict[str, Any]:
        def plain(obj: Any) -> Any:
            if isinstance(obj, datetime):
                return obj.isoformat()
            if isinstance(obj, tuple):
                return [plain(o) for o in obj]
            if hasattr(obj, "__dataclass_fields__"):
                return {k: plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
            return obj

        return {
            "entities": [{"name": n, "keys": list(k)} for n, k in self.entities],
            "sources": plain(self.sources),
            "views": plain(self.views),
            "consumers": plain(self.consumers),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Registry:
    def __init__(self, url: str, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.url = url
        self.clock = clock
        self.engine = _open(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plan / apply

    def plan(self, repo: FeatureRepo | Path | str) -> Plan:
        repo = repo if isinstance(repo, FeatureRepo) else load_repo(repo)
        with Session(self.engine) as session:
            plan, _ = make_plan(session, repo, self.clock())
            return plan

    def apply(self, repo: FeatureRepo | Path | str) -> Plan:
        """Plan and execute in one transaction; nothing is written when anything is refused."""
        repo = repo if isinstance(repo, FeatureRepo) else load_repo(repo)
        try:
            with Session(self.engine) as session, session.begin():
                plan, ops = make_plan(session, repo, self.clock())
                if plan.refused:
                    return plan
                for op in ops:
                    op(session)
                session.flush()
        except IntegrityError as exc:
            raise RegistryError(
                f"the registry changed while applying (concurrent apply?); run apply again ({exc.orig})"
            ) from exc
        return replace(plan, applied=True)

    # ---- what jobs read

    def view_spec(self, name: str, version: int | None = None) -> ViewSpec:
        """The compiled spec of a view version (the latest without `version`)."""
        with Session(self.engine) as session:
            row = self._view_row(session, name, version)
            return ViewSpec.from_dict(json.loads(row.spec_json))

    def schema_texts(self, source: str) -> list[str]:
        """Every registered Avro schema of `source`, oldest first (the decoder knows all writers)."""
        with Session(self.engine) as session:
            row = session.scalars(
                select(SourceRow).where(SourceRow.name == source).options(selectinload(SourceRow.schemas))
            ).one_or_none()
            if row is None:
                raise RegistryError(f"no source {source!r} in the registry; run `skewless apply` first")
            return [s.schema_json for s in row.schemas]

    def view_source(self, name: str, version: int | None = None) -> str:
        with Session(self.engine) as session:
            return self._view_row(session, name, version).source.name

    def _view_row(self, session: Session, name: str, version: int | None) -> ViewRow:
        query = select(ViewRow).where(ViewRow.name == name)
        if version is None:
            query = query.order_by(ViewRow.version.desc())  # the latest
        else:
            query = query.where(ViewRow.version == version)
        row = session.scalars(query.limit(1)).first()
        if row is None:
            known = session.scalars(select(ViewRow.version).where(ViewRow.name == name).order_by(ViewRow.version)).all()
            if known:
                raise RegistryError(f"view {name} has no version {version}; registered versions: {list(known)}")
            names = sorted(set(session.scalars(select(ViewRow.name))))
            known_names = ", ".join(names) or "none (run skewless apply)"
            raise RegistryError(f"no view {name!r} in the registry; known: {known_names}")
        return row

    # ---- listing

    def listing(self) -> Listing:
        with Session(self.engine) as session:
            rows = session.scalars(select(EntityRow).order_by(EntityRow.name))
            entities = tuple((e.name, tuple(e.keys)) for e in rows)
            sources = tuple(
                SourceInfo(
                    s.name,
                    s.topic,
                    tuple(v.version for v in s.schemas),
                    s.schemas[-1].fingerprint if s.schemas else None,
                )
                for s in session.scalars(
                    select(SourceRow).order_by(SourceRow.name).options(selectinload(SourceRow.schemas))
                )
            )
            views = tuple(
                ViewInfo(
                    v.name,
                    v.version,
                    v.entity.name,
                    v.source.name,
                    v.source.topic,
                    tuple(f.name for f in v.features),
                    v.owner,
                    tuple(v.tags),
                    v.content_hash,
                    v.created_at,
                    v.updated_at,
                )
                for v in session.scalars(select(ViewRow).order_by(ViewRow.name, ViewRow.version))
            )
            consumers = tuple(
                ConsumerInfo(c.kind, c.name, tuple(f"{f.view.name}@{f.view.version}:{f.name}" for f in c.features))
                for c in session.scalars(select(ConsumerRow).order_by(ConsumerRow.kind, ConsumerRow.name))
            )
            return Listing(entities, sources, views, consumers)

    # ---- consumers and lineage

    def register_consumer(self, kind: str, name: str, features: Sequence[FeatureRef]) -> ConsumerInfo:
        """Record that a model or training set reads `features`; re-registering replaces its list."""
        if kind not in CONSUMER_KINDS:
            raise RegistryError(f"consumer kind {kind!r} is not one of {', '.join(CONSUMER_KINDS)}")
        if not name or not name.strip() or ":" in name:
            raise RegistryError(f"consumer name {name!r} must be non-empty and contain no ':'")
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            rows = [self._feature_row(session, ref) for ref in features]
            consumer = session.scalars(
                select(ConsumerRow).where(ConsumerRow.kind == kind, ConsumerRow.name == name)
            ).one_or_none()
            if consumer is None:
                consumer = ConsumerRow(kind=kind, name=name, created_at=now, updated_at=now)
                session.add(consumer)
            consumer.features = list({r.id: r for r in rows}.values())
            consumer.updated_at = now
            session.flush()
            refs = tuple(f"{r.view.name}@{r.view.version}:{r.name}" for r in consumer.features)
            return ConsumerInfo(kind, name, refs)

    def _feature_row(self, session: Session, ref: FeatureRef) -> FeatureRow:
        view = self._view_row(session, ref.view, ref.version)
        row = next((f for f in view.features if f.name == ref.feature), None)
        if row is None:
            names = ", ".join(f.name for f in view.features)
            raise RegistryError(f"view {view.name}@{view.version} has no feature {ref.feature!r}; it has: {names}")
        return row

    def lineage(self, node: str, direction: Direction = "downstream") -> LineageTree:
        with Session(self.engine) as session:
            return build_graph(session).walk(node, direction)


def _open(url: str) -> Engine:
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise RegistryError(
            f"cannot open the registry at {_redacted(url)}: {exc}; set SKEWLESS_REGISTRY_URL to a valid SQLAlchemy URL "
            "(and install its driver, e.g. psycopg for PostgreSQL)"
        ) from exc
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)

        @event.listens_for(engine, "connect")
        def _foreign_keys(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA foreign_keys=ON")

    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            meta = session.get(Meta, "format")
            if meta is None:
                session.add(Meta(key="format", value=str(REGISTRY_FORMAT)))
            elif meta.value != str(REGISTRY_FORMAT):
                raise RegistryError(
                    f"the registry at {_redacted(url)} has format {meta.value}; this skewless reads format "
                    f"{REGISTRY_FORMAT}: upgrade skewless or point SKEWLESS_REGISTRY_URL elsewhere"
                )
    except OperationalError as exc:
        raise RegistryError(f"cannot open the registry at {_redacted(url)}: {exc.orig}") from exc
    return engine


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


__all__ = ["CONSUMER_KINDS", "FeatureRef", "Listing", "Registry", "default_url"]
