"""A request checked against the registry, before anything reaches Cassandra."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skewless.serving.entities import entity_keys
from skewless.serving.errors import RequestError, RequestTooLargeError
from skewless.serving.refs import FeatureRef, Resolver
from skewless.spec import ViewSpec


@dataclass(frozen=True)
class ReadPlan:
    """The columns, each entity's key per view, and the distinct partition reads."""

    refs: tuple[FeatureRef, ...]
    columns: tuple[tuple[str, str, str], ...]  # (ref text, view, feature) per response column
    entities: list[Any]
    keys: list[dict[str, str]]  # per entity: view -> key
    reads: list[tuple[str, str]]  # distinct (view, key)


def plan_request(
    entities: Sequence[Any],
    features: Sequence[Any],
    views: Mapping[str, ViewSpec],
    max_entities: int,
    resolver: Resolver | None = None,
) -> ReadPlan:
    """RequestError (a 4xx) says what is wrong with the request."""
    resolved, columns = (resolver or Resolver(views))(features)
    if isinstance(entities, (str, bytes)) or not isinstance(entities, Sequence):
        raise RequestError("entities must be a list of ids or of {key column: id} objects", code="bad_entity")
    if not entities:
        raise RequestError("entities is empty: name at least one entity", code="bad_entity")
    if len(entities) > max_entities:
        raise RequestTooLargeError(
            f"{len(entities)} entities in one request; the limit is {max_entities}: split the request"
        )
    keys = entity_keys(entities, [views[v] for v in resolved.by_view])
    reads = list(dict.fromkeys((view, k[view]) for k in keys for view in resolved.by_view))
    return ReadPlan(resolved.refs, columns, list(entities), keys, reads)
