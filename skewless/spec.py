"""The compiled, versioned spec a job executes: plain data, serializable, no DSL objects.

A view computes features for one entity from one source. Each feature is an
aggregation of one input column over a tiled window (window W, hop H, W a multiple
of H): its value at instant t covers events with event time in
[floor(t/H)*H - W + H, t].
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from skewless.errors import SpecError
from skewless.operations import OPERATIONS

SPEC_FORMAT = 1
_MAX_TILES = 10_000
LIFETIME = None  # window_ms for a feature over all events ever seen
# ViewSpec fields that describe a view without changing what it computes: the registry
# lets them change in place; any other change needs a new version.
# The monitoring fields (freshness_slo, drift) are among them: an SLO or a drift threshold
# says how the view is watched, not what it computes.
METADATA_FIELDS = ("description", "owner", "tags", "freshness_slo", "drift")
# Fields added after format 1 was fixed, with their defaults: to_dict omits them at the
# default, so specs that do not use them keep their exact JSON and content hash.
_ADDED_FIELDS: dict[str, object] = {"key_field": None, "freshness_slo": None, "drift": None}
# The drift and data-quality thresholds `skewless monitor` applies (docs/monitoring.md): a
# view's `drift` spec field holds all of them, None disabling one check. PSI above 0.2 is the
# usual "significant shift"; JS is base 2, in [0, 1]; null_rate bounds the rise of the null
# rate over the baseline's; missing_rate (entities of the baseline with no update in the
# window) varies with how often entities act, so it is reported but not checked by default.
DRIFT_DEFAULTS: dict[str, float | None] = {"psi": 0.2, "js": 0.1, "null_rate": 0.05, "missing_rate": None}


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    op: str
    column: str | None  # None only for count
    window_ms: int | None  # None: a lifetime window, one tile that never expires
    hop_ms: int | None = None
    # Operation parameters as sorted (name, value) pairs, e.g. (("n", 5),) for last_n.
    params: tuple[tuple[str, float | int], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(sorted((str(k), v) for k, v in self.params)))
        if not self.name.isidentifier():
            raise SpecError(f"feature name {self.name!r} must be a valid identifier")
        if self.op not in OPERATIONS:
            raise SpecError(f"feature {self.name}: unknown operation {self.op!r}; use one of {sorted(OPERATIONS)}")
        if self.column is None and OPERATIONS[self.op].needs_column:
            raise SpecError(f"feature {self.name}: operation {self.op!r} needs an input column")
        if self.window_ms is None:
            if self.hop_ms is not None:
                raise SpecError(f"feature {self.name}: a lifetime window has no hop")
            return
        if self.hop_ms is None or self.hop_ms <= 0 or self.window_ms <= 0:
            raise SpecError(f"feature {self.name}: window and hop must be positive")
        if self.window_ms % self.hop_ms:
            raise SpecError(
                f"feature {self.name}: window {self.window_ms} ms is not a multiple of hop {self.hop_ms} ms"
            )
        if self.window_ms // self.hop_ms > _MAX_TILES:
            raise SpecError(f"feature {self.name}: window/hop exceeds {_MAX_TILES} tiles; use a larger hop")

    @property
    def is_lifetime(self) -> bool:
        return self.window_ms is None

    @property
    def tiles(self) -> int:
        return 1 if self.window_ms is None or self.hop_ms is None else self.window_ms // self.hop_ms

    def tile_of(self, ts: int) -> int:
        return 0 if self.hop_ms is None else ts // self.hop_ms

    @property
    def param(self) -> dict[str, float | int]:
        return dict(self.params)

    @property
    def value_type(self) -> str:
        return OPERATIONS[self.op].value_type

    @property
    def cql_type(self) -> str:
        return OPERATIONS[self.op].cql_type


def _prefix(what: str) -> str:
    return f"{what}: " if what else ""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_freshness_slo(slo: object, what: str) -> None:
    """A compiled SLO is {"quantile": 0 < q < 1, "max_ms": a positive integer}, or None."""
    if slo is None:
        return
    if (
        not isinstance(slo, dict)
        or set(slo) != {"quantile", "max_ms"}
        or not _is_number(slo["quantile"])
        or not 0 < slo["quantile"] < 1
        or not isinstance(slo["max_ms"], int)
        or isinstance(slo["max_ms"], bool)
        or slo["max_ms"] <= 0
    ):
        raise SpecError(
            f'{_prefix(what)}freshness_slo {slo!r} must be {{"quantile": 0 < q < 1, "max_ms": positive integer}}, '
            'as compiled from e.g. "p99 < 2s"'
        )


def check_drift(drift: object, what: str) -> None:
    """Compiled drift thresholds hold every key of DRIFT_DEFAULTS, each a number >= 0 or None
    (JS and the rates at most 1)."""
    if drift is None:
        return
    if not isinstance(drift, dict) or set(drift) != set(DRIFT_DEFAULTS):
        got = sorted(drift) if isinstance(drift, dict) else type(drift).__name__
        raise SpecError(f"{_prefix(what)}drift must hold the thresholds {sorted(DRIFT_DEFAULTS)}, got {got}")
    for name, value in drift.items():
        top = math.inf if name == "psi" else 1.0
        if value is not None and not (_is_number(value) and 0 <= value <= top):
            bound = ">= 0" if name == "psi" else "in [0, 1]"
            raise SpecError(f"{_prefix(what)}drift threshold {name}={value!r} must be a number {bound}, or None to skip it")


@dataclass(frozen=True)
class ViewSpec:
    name: str
    version: int
    entity_key: str
    source_topic: str
    event_time_field: str
    features: tuple[FeatureSpec, ...]
    ttl_ms: int
    out_of_orderness_ms: int = 60_000
    # Events up to this far behind the watermark still update values (with correction rows).
    allowed_lateness_ms: int = 0
    # Row-level logic applied identically in the stream and in the test oracle:
    # derived columns as (name, expression) pairs, then a filter expression.
    derived: tuple[tuple[str, str], ...] = ()
    filter: str | None = None
    description: str = ""
    owner: str = ""
    tags: tuple[str, ...] = field(default=())
    # The event field holding the entity key when it is not named `entity_key` (which
    # stays the key's column name online and offline). None: the field is `entity_key`.
    key_field: str | None = None
    # Monitoring metadata (METADATA_FIELDS). freshness_slo: {"quantile": 0.99, "max_ms": 2000},
    # event-to-online latency at that quantile under max_ms. drift: every key of DRIFT_DEFAULTS.
    # Dicts, so not part of the hash of this frozen dataclass.
    freshness_slo: dict[str, float | int] | None = field(default=None, hash=False)
    drift: dict[str, float | None] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise SpecError(f"view name {self.name!r} must be a valid identifier")
        check_freshness_slo(self.freshness_slo, f"view {self.name}")
        check_drift(self.drift, f"view {self.name}")
        if self.key_field is not None and not self.key_field.isidentifier():
            raise SpecError(f"view {self.name}: key_field {self.key_field!r} must be an event field name")
        if self.version < 1:
            raise SpecError(f"view {self.name}: version must be >= 1")
        if not self.features:
            raise SpecError(f"view {self.name}: needs at least one feature")
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise SpecError(f"view {self.name}: duplicate feature names {names}")
        if self.ttl_ms <= 0:
            raise SpecError(f"view {self.name}: ttl must be positive")
        if self.out_of_orderness_ms < 0:
            raise SpecError(f"view {self.name}: out_of_orderness must be >= 0")
        if self.allowed_lateness_ms < 0:
            raise SpecError(f"view {self.name}: allowed_lateness must be >= 0")

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def input_columns(self) -> list[str]:
        return sorted({f.column for f in self.features if f.column is not None})

    @property
    def source_key_field(self) -> str:
        """The event field the decoder reads the entity key from."""
        return self.key_field or self.entity_key

    @property
    def uid(self) -> str:
        """Stable operator uid prefix: survives code changes, changes with the version."""
        return f"{self.name}-v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name, default in _ADDED_FIELDS.items():
            if data[name] == default:
                del data[name]
        data["format"] = SPEC_FORMAT
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ViewSpec:
        data = dict(data)
        fmt = data.pop("format", SPEC_FORMAT)
        if fmt != SPEC_FORMAT:
            raise SpecError(f"spec format {fmt} is not supported by this skewless (expects {SPEC_FORMAT})")
        try:
            features = tuple(
                FeatureSpec(**{**f, "params": tuple(tuple(p) for p in f.get("params", ()))})
                for f in data.pop("features")
            )
            tags = tuple(data.pop("tags", ()))
            derived = tuple(tuple(d) for d in data.pop("derived", ()))
            return cls(features=features, tags=tags, derived=derived, **data)
        except (KeyError, TypeError) as exc:
            raise SpecError(f"malformed view spec: {exc}") from exc

    def content_hash(self) -> str:
        body = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:16]

    def computation_hash(self) -> str:
        """Like content_hash, but blind to METADATA_FIELDS: equal hashes compute equal values."""
        data = {k: v for k, v in self.to_dict().items() if k not in METADATA_FIELDS}
        body = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode()).hexdigest()[:16]
