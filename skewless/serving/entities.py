"""Entities of a request: plain ids (one key for every view) or dicts of key column -> id.

Each view's table is keyed by one text column (`ViewSpec.entity_key`); a dict entity names
the key of each view it needs, so one request can join views of different entities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from skewless.serving.errors import RequestError
from skewless.spec import ViewSpec

MAX_ID_CHARS = 1024


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str):
        numeric = isinstance(value, int) and not isinstance(value, bool)
        hint = f"; send it as a string: {str(value)!r}" if numeric else ""
        raise RequestError(
            f"{where} is {type(value).__name__} {value!r}: entity ids are strings (the key column is text){hint}",
            code="bad_entity",
        )
    if not value:
        raise RequestError(f"{where} is an empty string; Cassandra has no empty partition key", code="bad_entity")
    if len(value) > MAX_ID_CHARS:
        raise RequestError(f"{where} is {len(value)} characters long; the limit is {MAX_ID_CHARS}", code="bad_entity")
    return value


def entity_keys(entities: Sequence[Any], views: Sequence[ViewSpec]) -> list[dict[str, str]]:
    """Per entity, view name -> the key to read that view's partition with."""
    if isinstance(entities, (str, bytes)) or not isinstance(entities, Sequence):
        raise RequestError("entities must be a list of ids or of {key column: id} objects", code="bad_entity")
    out: list[dict[str, str]] = []
    for i, entity in enumerate(entities):
        if isinstance(entity, Mapping):
            keys: dict[str, str] = {}
            for spec in views:
                if spec.entity_key not in entity:
                    raise RequestError(
                        f"entities[{i}] has no {spec.entity_key!r}, the key of view {spec.name!r} "
                        f"(it has {sorted(map(str, entity))})",
                        code="bad_entity",
                    )
                keys[spec.name] = _check_id(entity[spec.entity_key], f"entities[{i}].{spec.entity_key}")
            out.append(keys)
        else:
            key = _check_id(entity, f"entities[{i}]")
            out.append({spec.name: key for spec in views})
    return out
