"""Diff a feature repo against the registry: what `apply` would create, update or refuse.

Rules:
- a view version not registered yet is created (alongside older versions of the view);
- a registered view version whose computation (everything in its compiled spec but
  its METADATA_FIELDS) changed is refused: bump `version`;
- metadata-only changes (owner, description, tags, and the monitoring fields
  freshness_slo and drift) update the version in place;
- a source's new Avro schema registers as its next schema version when the new schema
  can read data written with every earlier version (Avro resolution); else it is refused,
  naming the field and the reason;
- an entity's keys, and a source's topic, cannot change while views use them;
- nothing is ever deleted: definitions missing from the repo stay registered.

`apply` runs the same planning inside its transaction and executes only when nothing is
refused, so a plan is applied entirely or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from fastavro.schema import fingerprint, to_parsing_canonical_form
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from skewless.dsl.repo import FeatureRepo
from skewless.dsl.source import Entity, Source
from skewless.errors import SpecError
from skewless.registry.compatibility import check_compatible
from skewless.registry.models import EntityRow, FeatureRow, SchemaVersionRow, SourceRow, ViewRow
from skewless.spec import METADATA_FIELDS, ViewSpec


class Action(StrEnum):
    CREATE = "create"
    NEW_VERSION = "new-version"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class PlanItem:
    kind: str  # "entity", "source", "schema" or "view"
    name: str  # "user", "transactions", "transactions@2", "user_transactions@1"
    action: Action
    details: tuple[str, ...] = ()  # what changes, or why it is refused

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "action": str(self.action), "details": list(self.details)}


@dataclass(frozen=True)
class Plan:
    items: tuple[PlanItem, ...]
    applied: bool = False

    @property
    def refused(self) -> list[PlanItem]:
        return [i for i in self.items if i.action is Action.REFUSED]

    @property
    def changes(self) -> list[PlanItem]:
        return [i for i in self.items if i.action not in (Action.UNCHANGED, Action.REFUSED)]

    def to_dict(self) -> dict[str, Any]:
        return {"applied": self.applied, "items": [i.to_dict() for i in self.items]}

    def render(self) -> str:
        width = max((len(str(i.action)) for i in self.items), default=0)
        lines = []
        for item in self.items:
            lines.append(f"{str(item.action):<{width}}  {item.kind} {item.name}")
            lines.extend(f"{'':<{width}}    - {d}" for d in item.details)
        counts = {a: sum(1 for i in self.items if i.action is a) for a in Action}
        summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
        if self.refused:
            summary += "; nothing applied: fix the refused items first"
        elif self.applied:
            summary += "; applied"
        lines.append(f"plan: {summary or 'empty repo'}")
        return "\n".join(lines)


def schema_fingerprint(schema_json: dict[str, Any]) -> str:
    """CRC-64-AVRO of the parsing canonical form: the id the wire format carries."""
    return fingerprint(to_parsing_canonical_form(schema_json), "CRC-64-AVRO")


Op = Callable[[Session], None]


@dataclass
class _Planner:
    session: Session
    repo: FeatureRepo
    now: datetime
    items: list[PlanItem] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)

    def add(
        self, kind: str, name: str, action: Action, details: list[str] | tuple[str, ...] = (), op: Op | None = None
    ) -> None:
        self.items.append(PlanItem(kind, name, action, tuple(details)))
        if op is not None:
            self.ops.append(op)

    def run(self) -> None:
        for entity in sorted(self.repo.entities.values(), key=lambda e: e.name):
            self.entity(entity)
        for source in sorted(self.repo.sources.values(), key=lambda s: s.name):
            self.source(source)
        for key in sorted(self.repo.views):
            self.view(key)

    # ---- entities

    def entity(self, entity: Entity) -> None:
        row = self.session.scalars(select(EntityRow).where(EntityRow.name == entity.name)).one_or_none()
        if row is None:
            self.add("entity", entity.name, Action.CREATE, [f"keys {list(entity.keys)}"], self._create_entity(entity))
            return
        changes = []
        if list(row.keys) != list(entity.keys):
            users = self._view_names(ViewRow.entity_id == row.id)
            if users:
                self.add(
                    "entity",
                    entity.name,
                    Action.REFUSED,
                    [
                        f"keys changed from {list(row.keys)} to {list(entity.keys)} while {', '.join(users)} use it; "
                        "define a new entity under another name instead"
                    ],
                )
                return
            changes.append(f"keys: {list(row.keys)} -> {list(entity.keys)}")
        if row.description != entity.description:
            changes.append("description changed")
        if not changes:
            self.add("entity", entity.name, Action.UNCHANGED)
            return

        def update(session: Session, row_id: int = row.id) -> None:
            target = session.get_one(EntityRow, row_id)
            target.keys, target.description, target.updated_at = list(entity.keys), entity.description, self.now

        self.add("entity", entity.name, Action.UPDATE, changes, update)

    def _create_entity(self, entity: Entity) -> Op:
        def create(session: Session) -> None:
            session.add(
                EntityRow(
                    name=entity.name,
                    keys=list(entity.keys),
                    description=entity.description,
                    created_at=self.now,
                    updated_at=self.now,
                )
            )

        return create

    # ---- sources and their schemas

    def source(self, source: Source) -> None:
        try:
            schema = source.schema_json
        except SpecError as exc:
            self.add("source", source.name, Action.REFUSED, [str(exc)])
            return
        definition = _definition(source)
        row = self.session.scalars(select(SourceRow).where(SourceRow.name == source.name)).one_or_none()
        if row is None:
            self.add("source", source.name, Action.CREATE, [f"topic {source.topic}"], self._create_source(source))
            self._schema(source, schema, None)
            return
        changes = []
        if row.topic != source.topic:
            users = self._view_names(ViewRow.source_id == row.id)
            if users:
                self.add(
                    "source",
                    source.name,
                    Action.REFUSED,
                    [
                        f"topic changed from {row.topic} to {source.topic} while {', '.join(users)} read it; "
                        "define a new source under another name for the new topic"
                    ],
                )
                self._schema(source, schema, row)
                return
            changes.append(f"topic: {row.topic} -> {source.topic}")
        old = row.definition
        changes += [f"{k}: {old.get(k)!r} -> {v!r}" for k, v in definition.items() if old.get(k) != v]
        if row.description != source.description:
            changes.append("description changed")
        if changes:

            def update(session: Session, row_id: int = row.id) -> None:
                target = session.get_one(SourceRow, row_id)
                target.topic, target.definition = source.topic, definition
                target.description, target.updated_at = source.description, self.now

            self.add("source", source.name, Action.UPDATE, changes, update)
        else:
            self.add("source", source.name, Action.UNCHANGED)
        self._schema(source, schema, row)

    def _create_source(self, source: Source) -> Op:
        def create(session: Session) -> None:
            session.add(
                SourceRow(
                    name=source.name,
                    topic=source.topic,
                    definition=_definition(source),
                    description=source.description,
                    created_at=self.now,
                    updated_at=self.now,
                )
            )

        return create

    def _schema(self, source: Source, schema: dict[str, Any], row: SourceRow | None) -> None:
        fp = schema_fingerprint(schema)
        known = list(row.schemas) if row is not None else []
        same = next((v for v in known if v.fingerprint == fp), None)
        if same is not None:
            self.add("schema", f"{source.name}@{same.version}", Action.UNCHANGED)
            return
        version = max((v.version for v in known), default=0) + 1
        problems = []
        for old in known:
            for problem in check_compatible(schema, json.loads(old.schema_json)):
                problems.append(f"cannot read data written with version {old.version}: {problem}")
        name = f"{source.name}@{version}"
        if problems:
            self.add("schema", name, Action.REFUSED, problems)
            return

        def create(session: Session) -> None:
            owner = session.scalars(select(SourceRow).where(SourceRow.name == source.name)).one()
            session.add(
                SchemaVersionRow(
                    source=owner,
                    version=version,
                    fingerprint=fp,
                    schema_json=json.dumps(schema, sort_keys=True),
                    created_at=self.now,
                )
            )

        detail = [f"fingerprint {fp}"] + ([f"reads data of versions {[v.version for v in known]}"] if known else [])
        self.add("schema", name, Action.CREATE if not known else Action.NEW_VERSION, detail, create)

    # ---- views

    def view(self, key: tuple[str, int]) -> None:
        view = self.repo.views[key]
        label = f"{view.name}@{view.version}"
        try:
            spec = view.compile()
        except SpecError as exc:
            self.add("view", label, Action.REFUSED, [str(exc)])
            return
        row = self.session.scalars(
            select(ViewRow).where(ViewRow.name == view.name, ViewRow.version == view.version)
        ).one_or_none()
        if row is None:
            latest = self.session.scalar(select(func.max(ViewRow.version)).where(ViewRow.name == view.name))
            features = [f"features {', '.join(spec.feature_names)}"]
            create = self._create_view(view.entity.name, view.source.name, spec)
            if latest is None:
                self.add("view", label, Action.CREATE, features, create)
            else:
                alongside = f"registers alongside version(s) up to {latest}"
                self.add("view", label, Action.NEW_VERSION, [alongside, *features], create)
            return
        old = ViewSpec.from_dict(json.loads(row.spec_json))
        if old.computation_hash() != spec.computation_hash():
            latest = self.session.scalar(select(func.max(ViewRow.version)).where(ViewRow.name == view.name)) or 0
            self.add(
                "view",
                label,
                Action.REFUSED,
                [
                    *_computation_changes(old, spec),
                    f"version {view.version} is registered and its computation cannot change in place; "
                    f"set version={latest + 1} to register the new computation alongside it",
                ],
            )
            return
        changes = [f"{name} changed" for name in METADATA_FIELDS if getattr(old, name) != getattr(spec, name)]
        relinks = []
        if row.entity.name != view.entity.name:
            relinks.append(f"entity: {row.entity.name} -> {view.entity.name}")
        if row.source.name != view.source.name:
            relinks.append(f"source: {row.source.name} -> {view.source.name}")
        if not changes and not relinks:
            self.add("view", label, Action.UNCHANGED)
            return

        def update(session: Session, row_id: int = row.id) -> None:
            target = session.get_one(ViewRow, row_id)
            _fill_view(target, spec, self.now)
            target.entity = session.scalars(select(EntityRow).where(EntityRow.name == view.entity.name)).one()
            target.source = session.scalars(select(SourceRow).where(SourceRow.name == view.source.name)).one()

        self.add("view", label, Action.UPDATE, changes + relinks, update)

    def _create_view(self, entity: str, source: str, spec: ViewSpec) -> Op:
        def create(session: Session) -> None:
            row = ViewRow(name=spec.name, version=spec.version, created_at=self.now)
            _fill_view(row, spec, self.now)
            row.entity = session.scalars(select(EntityRow).where(EntityRow.name == entity)).one()
            row.source = session.scalars(select(SourceRow).where(SourceRow.name == source)).one()
            row.features = [
                FeatureRow(name=f.name, position=i, op=f.op, column=f.column, value_type=f.value_type)
                for i, f in enumerate(spec.features)
            ]
            session.add(row)

        return create

    def _view_names(self, condition: Any) -> list[str]:
        query = select(ViewRow.name, ViewRow.version).where(condition).order_by(ViewRow.name, ViewRow.version)
        rows = self.session.execute(query)
        return [f"{name}@{version}" for name, version in rows]


def _definition(source: Source) -> dict[str, Any]:
    return {
        "event_time": source.event_time,
        "keys": source.key_fields,
        "derived": [list(pair) for pair in source.derived],  # type: ignore[union-attr]
        "filter": source.filter,
    }


def _fill_view(row: ViewRow, spec: ViewSpec, now: datetime) -> None:
    row.content_hash = spec.content_hash()
    row.computation_hash = spec.computation_hash()
    row.owner, row.description, row.tags = spec.owner, spec.description, list(spec.tags)
    row.spec_json = json.dumps(spec.to_dict(), sort_keys=True)
    row.updated_at = now


def _computation_changes(old: ViewSpec, new: ViewSpec) -> list[str]:
    """What differs in the computation, in words a reviewer can check."""
    before, after = old.to_dict(), new.to_dict()
    changes = []
    for key in sorted(set(before) | set(after)):
        if key in METADATA_FIELDS or key == "features" or before.get(key) == after.get(key):
            continue
        changes.append(f"{key}: {before.get(key)!r} -> {after.get(key)!r}")
    old_f = {f["name"]: f for f in before["features"]}
    new_f = {f["name"]: f for f in after["features"]}
    if added := [n for n in new_f if n not in old_f]:
        changes.append(f"features added: {', '.join(added)}")
    if removed := [n for n in old_f if n not in new_f]:
        changes.append(f"features removed: {', '.join(removed)}")
    if changed := [n for n in new_f if n in old_f and new_f[n] != old_f[n]]:
        changes.append(f"features changed: {', '.join(changed)}")
    if not (added or removed or changed) and list(old_f) != list(new_f):
        changes.append("features reordered")
    return changes


def make_plan(session: Session, repo: FeatureRepo, now: datetime) -> tuple[Plan, list[Op]]:
    """The plan for `repo` against the registry seen by `session`, and the operations that apply it."""
    planner = _Planner(session, repo, now)
    planner.run()
    return Plan(tuple(planner.items)), planner.ops
