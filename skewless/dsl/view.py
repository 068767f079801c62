"""FeatureView: features of one entity from one source; `compile()` turns it into a ViewSpec.

The DSL only builds data. `compile()` checks the definition against the source's Avro
schema and reports every problem at once, each saying what to fix; the engine then runs
the compiled spec and never sees DSL objects.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skewless.dsl.aggregation import Aggregation
from skewless.dsl.durations import Duration, to_ms
from skewless.dsl.monitoring import Drift, compile_drift, compile_freshness_slo
from skewless.dsl.source import Entity, Source
from skewless.errors import SpecError
from skewless.expressions import BOOL, NULL, NUMERIC, check_row_logic
from skewless.spec import FeatureSpec, ViewSpec

_KEY_TYPES = {"string", "int", "long", "enum"}


@dataclass(frozen=True)
class FeatureView:
    """Aggregations over one source's events, keyed by one entity, under a version.

    Changing what a registered version computes (features, windows, source, row logic,
    keys, ttl, lateness) needs a new `version`; `owner`, `description`, `tags` and the
    monitoring fields may change in place. Tag personal data with "pii".

    Monitoring (docs/monitoring.md): `freshness_slo="p99 < 2s"` bounds event-to-online
    latency at a quantile; `drift=Drift(psi=0.2, js=0.1, null_rate=0.05)` (or a dict of some
    of them) sets the thresholds `skewless monitor` checks, defaults when None.
    """

    name: str
    entity: Entity
    source: Source
    aggregations: Sequence[Aggregation]
    ttl: Duration
    owner: str = ""
    description: str = ""
    tags: Sequence[str] = field(default=())
    version: int = 1
    allowed_lateness: Duration | int = 0
    out_of_orderness: Duration = "1m"
    freshness_slo: str | None = None
    drift: Drift | Mapping[str, float | None] | None = field(default=None, hash=False)  # a dict is unhashable

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(f"feature view name {self.name!r} must be an identifier, e.g. 'user_transactions'")
        what = f"feature view {self.name}"
        if not isinstance(self.entity, Entity):
            raise SpecError(f"{what}: entity must be an Entity, got {type(self.entity).__name__}")
        if not isinstance(self.source, Source):
            raise SpecError(f"{what}: source must be a Source, got {type(self.source).__name__}")
        aggregations = (self.aggregations,) if isinstance(self.aggregations, Aggregation) else tuple(self.aggregations)
        if not aggregations or not all(isinstance(a, Aggregation) for a in aggregations):
            raise SpecError(f"{what}: aggregations must be a non-empty list of Aggregation")
        object.__setattr__(self, "aggregations", aggregations)
        if isinstance(self.tags, str) or not all(isinstance(t, str) and t.strip() for t in self.tags):
            raise SpecError(f"{what}: tags must be a list of non-empty strings, e.g. ['pii']")
        object.__setattr__(self, "tags", tuple(sorted(set(self.tags))))
        if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 1:
            raise SpecError(f"{what}: version must be an integer >= 1, got {self.version!r}")

    @property
    def pii(self) -> bool:
        return "pii" in self.tags  # type: ignore[operator]

    def compile(self) -> ViewSpec:
        """The spec the engine runs; SpecError listing every problem when the definition is wrong."""
        problems: list[str] = []
        source = self.source
        fields = source.fields
        columns = {name: f.type for name, f in fields.items()}

        key_field = self._key_field(problems)
        time_field = fields.get(source.event_time)
        if time_field is None:
            problems.append(_unknown("event_time field", source.event_time, fields))
        elif time_field.base != "long":
            problems.append(
                f"event_time field {source.event_time!r} is {time_field.avro}; it must be a long of epoch milliseconds"
            )

        unchecked: set[str] = set()  # derived columns whose type the failed check could not tell
        try:
            columns = check_row_logic(source.derived, source.filter, columns)  # type: ignore[arg-type]
        except SpecError as exc:
            problems.append(f"source {source.name}: {exc}")
            unchecked = {name for name, _ in source.derived}
            columns.update({name: None for name in unchecked})  # type: ignore[misc]

        features = self._features(columns, unchecked, problems)
        durations = {}
        for attr, allow_zero in (("ttl", False), ("allowed_lateness", True), ("out_of_orderness", True)):
            value = getattr(self, attr)
            try:
                durations[attr] = 0 if value == 0 and allow_zero else to_ms(value, attr, allow_zero=allow_zero)
            except SpecError as exc:
                problems.append(str(exc))
        monitoring: dict[str, Any] = {}
        for attr, compile_field in (("freshness_slo", compile_freshness_slo), ("drift", compile_drift)):
            try:
                monitoring[attr] = compile_field(getattr(self, attr))
            except SpecError as exc:
                problems.append(str(exc))

        if not problems:
            try:
                return ViewSpec(
                    name=self.name,
                    version=self.version,
                    entity_key=self.entity.keys[0],
                    source_topic=source.topic,
                    event_time_field=source.event_time,
                    features=tuple(features),
                    ttl_ms=durations["ttl"],
                    out_of_orderness_ms=durations["out_of_orderness"],
                    allowed_lateness_ms=durations["allowed_lateness"],
                    derived=tuple(source.derived),  # type: ignore[arg-type]
                    filter=source.filter,
                    description=self.description,
                    owner=self.owner,
                    tags=tuple(self.tags),
                    key_field=key_field if key_field != self.entity.keys[0] else None,
                    **monitoring,
                )
            except SpecError as exc:
                problems.append(str(exc))
        listing = "\n".join(f"  - {p}" for p in problems)
        raise SpecError(f"feature view {self.name} (version {self.version}) has {len(problems)} problem(s):\n{listing}")

    def _key_field(self, problems: list[str]) -> str | None:
        keys = self.entity.keys
        if len(keys) != 1:
            problems.append(
                f"entity {self.entity.name} has keys {list(keys)}; compiled views support exactly one key column "
                "today: combine them into one derived key upstream, or define a one-key entity"
            )
            return None
        mapping = self.source.key_fields
        unknown = sorted(set(mapping) - set(keys))
        if unknown:
            problems.append(f"source {self.source.name}: keys maps {unknown}, which entity {self.entity.name} lacks")
        field_name = mapping.get(keys[0], keys[0])
        found = self.source.fields.get(field_name)
        if found is None:
            problems.append(
                _unknown(f"key field for entity key {keys[0]!r}", field_name, self.source.fields)
                + f"; map it with Source(keys={{{keys[0]!r}: '<field>'}})"
            )
        elif found.base not in _KEY_TYPES:
            problems.append(f"key field {field_name!r} is {found.avro}; keys must be strings, ints or longs")
        return field_name

    def _features(self, columns: dict[str, str | None], unchecked: set[str], problems: list[str]) -> list[FeatureSpec]:
        features: list[FeatureSpec] = []
        origin: dict[str, Aggregation] = {}
        for agg in self.aggregations:  # type: ignore[union-attr]
            if agg.column is not None:
                if agg.column not in columns:
                    problems.append(
                        _unknown(f"{agg.op} column", agg.column, columns, "a schema field or derived column")
                    )
                    continue
                if agg.column not in unchecked and columns[agg.column] not in NUMERIC:
                    problems.append(self._input_problem(agg, columns[agg.column]))
                    continue
            for name, window in agg.features():
                if name in origin:
                    problems.append(
                        f"two aggregations produce the feature {name!r} ({origin[name].op} and {agg.op}); "
                        "give one of them name=..."
                    )
                    continue
                origin[name] = agg
                try:
                    spec = FeatureSpec(
                        name, agg.op, agg.column, window.window_ms, window.hop_ms, agg.params  # type: ignore[arg-type]
                    )
                    features.append(spec)
                except SpecError as exc:
                    problems.append(str(exc))
        return features


    def _input_problem(self, agg: Aggregation, kind: str | None) -> str:
        """Every aggregation reads a number per event (the engine's inputs are doubles): say which
        column is not one, and how to make one."""
        column = agg.column
        field = self.source.fields.get(column)  # type: ignore[arg-type]
        if field is not None and kind is None:
            actual = f"{column} is {field.avro}"
        elif kind is None:
            actual = f"{column} is a derived column that is not always a number (its type depends on the event)"
        elif kind == NULL:
            actual = f"{column} is always null"
        else:
            avro = f" (Avro {field.avro})" if field is not None and field.base not in (kind, "string") else ""
            actual = f"{column} is a {kind}{avro}"
        hint = "a derived column that is always a number"
        if kind == BOOL:
            hint = f"a derived column such as '1 if {column} else 0'"
        return (
            f"aggregation {agg.op}({column}) of view {self.name} needs a numeric column; {actual}: "
            f"aggregate a long, int, float or double field, or {hint}"
        )


def _unknown(what: str, name: str, known: dict[str, Any], kind: str = "a field of the schema") -> str:
    hint = difflib.get_close_matches(name, list(known), n=1)
    suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
    return f"{what} {name!r} is not {kind}{suggestion}; known: {', '.join(sorted(known))}"
