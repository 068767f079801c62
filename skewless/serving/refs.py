"""Feature refs: `view:feature` or `view:*`, resolved against the registry's views.

Resolution fixes the response's columns once per request: refs expand in the order
given, `view:*` to the view's features in definition order, repeats dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from skewless.serving.errors import RequestError, UnknownFeatureError
from skewless.spec import ViewSpec

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class FeatureRef:
    view: str
    feature: str

    def __str__(self) -> str:
        return f"{self.view}:{self.feature}"

    @classmethod
    def parse(cls, text: object) -> FeatureRef:
        if not isinstance(text, str):
            raise RequestError(
                f"feature ref {text!r} must be a string 'view:feature' or 'view:*'", code="bad_feature_ref"
            )
        view, sep, feature = text.partition(":")
        if not sep or not view or not feature or ":" in feature:
            raise RequestError(
                f"feature ref {text!r} must look like 'view:feature' or 'view:*'", code="bad_feature_ref"
            )
        return cls(view.strip(), feature.strip())


@dataclass(frozen=True)
class Resolved:
    """The expanded refs, and per view the features to read (in ref order)."""

    refs: tuple[FeatureRef, ...]
    by_view: dict[str, tuple[str, ...]]

    @property
    def columns(self) -> tuple[tuple[str, str, str], ...]:
        """(ref text, view, feature) per response column."""
        return tuple((str(r), r.view, r.feature) for r in self.refs)


class Resolver:
    """`resolve` with a memo: callers repeat the same feature lists, and resolving 20 refs
    costs more than the rest of a request's Python work."""

    def __init__(self, views: Mapping[str, ViewSpec], max_entries: int = 1024) -> None:
        self.views = views
        self._memo: dict[tuple[object, ...], tuple[Resolved, tuple[tuple[str, str, str], ...]]] = {}
        self._max_entries = max_entries

    def __call__(self, refs: Sequence[object]) -> tuple[Resolved, tuple[tuple[str, str, str], ...]]:
        # Only lists of refs that resolved are memoised, so a hit needs no per-ref type check.
        key = tuple(refs) if isinstance(refs, (list, tuple)) else None
        try:
            hit = self._memo.get(key) if key is not None else None
        except TypeError:  # an unhashable ref (a dict, a list): resolve() says what is wrong
            key = hit = None
        if hit is not None:
            return hit
        resolved = resolve(refs, self.views)  # raises on bad refs: never memoised
        out = (resolved, resolved.columns)
        if key is not None and len(self._memo) < self._max_entries:
            self._memo[key] = out
        return out


def resolve(refs: Sequence[object], views: Mapping[str, ViewSpec]) -> Resolved:
    if isinstance(refs, (str, bytes)) or not isinstance(refs, Sequence):
        raise RequestError("features must be a list of 'view:feature' refs", code="bad_feature_ref")
    if not refs:
        raise RequestError("features is empty: name at least one 'view:feature' or 'view:*'", code="bad_feature_ref")
    out: dict[FeatureRef, None] = {}
    for raw in refs:
        ref = FeatureRef.parse(raw)
        spec = views.get(ref.view)
        if spec is None:
            raise UnknownFeatureError(
                f"unknown view {ref.view!r} in {str(raw)!r}; known views: {', '.join(sorted(views)) or '(none)'}",
                known=views,
            )
        names = spec.feature_names
        if ref.feature == WILDCARD:
            out.update((FeatureRef(ref.view, n), None) for n in names)
        elif ref.feature in names:
            out[ref] = None
        else:
            raise UnknownFeatureError(
                f"view {ref.view!r} has no feature {ref.feature!r}; its features: {', '.join(names)}",
                known=(f"{ref.view}:{n}" for n in names),
            )
    by_view: dict[str, list[str]] = {}
    for ref in out:
        by_view.setdefault(ref.view, []).append(ref.feature)
    return Resolved(tuple(out), {v: tuple(fs) for v, fs in by_view.items()})
