"""What a feature read returns: per entity, per `view:feature`, the value and when it became valid.

All entities of one response were judged live at the same instant, `served_at` (epoch
ms), taken after every partition read had answered: so each row served was written
before `served_at`, and the TTL rule was applied at exactly that instant. This is the
instant `skewless verify` replays offline.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connectors.cassandra.reader import LiveRow
from skewless.serving.refs import FeatureRef


@dataclass(frozen=True, slots=True)
class FeatureValue:
    value: Any  # None when the entity has no live value
    valid_from: int | None  # epoch ms of the update served; None when absent

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "valid_from": self.valid_from}


ABSENT = FeatureValue(None, None)


@dataclass(frozen=True, slots=True)
class ViewRead:
    """One partition read: the key used and the live row found (None: absent or expired)."""

    key: str
    row: LiveRow | None


Column = tuple[str, str, str]  # (ref text, view, feature)


class EntityResult:
    """One entity's answer. `features` (name -> FeatureValue) is built on first use:
    `values()` and the JSON shape read the rows directly, with no object per feature."""

    __slots__ = ("entity", "reads", "_columns", "_features")

    def __init__(self, entity: Any, reads: dict[str, ViewRead], columns: tuple[Column, ...]) -> None:
        self.entity = entity  # as the caller gave it
        self.reads = reads  # view -> the read behind its features
        self._columns = columns
        self._features: dict[str, FeatureValue] | None = None

    @property
    def features(self) -> dict[str, FeatureValue]:
        """"view:feature" -> value and valid_from."""
        if self._features is None:
            features: dict[str, FeatureValue] = {}
            for name, view, feature in self._columns:
                row = self.reads[view].row
                features[name] = ABSENT if row is None else FeatureValue(row.values[feature], row.valid_from)
            self._features = features
        return self._features

    def values(self) -> dict[str, Any]:
        """"view:feature" -> value (None when absent)."""
        single = _single_view(self._columns)
        if single is not None:  # the usual request: every column from one view, taken in C
            view, names, cells = single
            row = self.reads[view].row
            return dict.fromkeys(names) if row is None else dict(zip(names, cells(row.values)))
        out: dict[str, Any] = {}
        for name, view, feature in self._columns:
            row = self.reads[view].row
            out[name] = None if row is None else row.values[feature]
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, view, feature in self._columns:
            row = self.reads[view].row
            out[name] = _ABSENT_DICT if row is None else {"value": row.values[feature], "valid_from": row.valid_from}
        return {"entity": self.entity, "features": out}

    def __repr__(self) -> str:
        return f"EntityResult(entity={self.entity!r}, features={self.features!r})"


_ABSENT_DICT = ABSENT.to_dict()  # shared: only ever serialised
_SINGLE_VIEW: dict[tuple[Column, ...], tuple[str, tuple[str, ...], Callable[[dict[str, Any]], Any]] | None] = {}


def _single_view(columns: tuple[Column, ...]) -> tuple[str, tuple[str, ...], Callable[[dict[str, Any]], Any]] | None:
    """(view, column names, getter of the features' values) when all columns come from one
    view, else None; memoised (the feature lists of a service repeat)."""
    try:
        return _SINGLE_VIEW[columns]
    except KeyError:
        pass
    views = {view for _, view, _ in columns}
    plan = None
    if len(views) == 1:
        features = [feature for _, _, feature in columns]
        getter = operator.itemgetter(*features) if len(features) > 1 else (lambda d, f=features[0]: (d[f],))
        plan = (views.pop(), tuple(name for name, _, _ in columns), getter)
    if len(_SINGLE_VIEW) < 1024:
        _SINGLE_VIEW[columns] = plan
    return plan


@dataclass(frozen=True)
class OnlineResponse:
    served_at: int
    refs: tuple[FeatureRef, ...]
    results: list[EntityResult]
    names: tuple[str, ...] = ()  # str(ref) per column, computed once per feature list

    def __post_init__(self) -> None:
        if len(self.names) != len(self.refs):
            object.__setattr__(self, "names", tuple(str(r) for r in self.refs))

    def __iter__(self) -> Iterator[EntityResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> EntityResult:
        return self.results[index]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `POST /features`."""
        return {"served_at": self.served_at, "features": list(self.names), "results": [r.to_dict() for r in self.results]}


def build_response(
    served_at: int,
    refs: tuple[FeatureRef, ...],
    entities: list[Any],
    reads: list[dict[str, ViewRead]],
    columns: tuple[Column, ...] | None = None,
) -> OnlineResponse:
    names = columns if columns is not None else tuple((str(ref), ref.view, ref.feature) for ref in refs)
    results = [EntityResult(entity, by_view, names) for entity, by_view in zip(entities, reads, strict=True)]
    return OnlineResponse(served_at, refs, results, tuple(name for name, _, _ in names))
