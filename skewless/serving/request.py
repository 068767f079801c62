"""The body of `POST /features`, checked for shape before anything reaches Cassandra:

    {"entities": ["u1", {"user_id": "u2"}], "features": ["user_transactions:*"]}

Semantic checks (known refs, entity keys, the entity limit) follow in `FeatureStore.plan`.
"""

from __future__ import annotations

from typing import Any

import orjson

from skewless.serving.errors import RequestError, RequestTooLargeError

FIELDS = ("entities", "features")
MAX_FEATURE_REFS = 500


def parse_feature_request(body: bytes) -> tuple[list[Any], list[Any]]:
    """(entities, features) of a JSON body; RequestError for anything malformed."""
    if not body.strip():
        raise RequestError('the body is empty; send {"entities": [...], "features": [...]}', code="malformed_json")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"the body is not valid JSON: {exc}", code="malformed_json") from exc
    if not isinstance(data, dict):
        raise RequestError(
            f'the body is a JSON {type(data).__name__}; send an object {{"entities": [...], "features": [...]}}',
            code="bad_request",
        )
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise RequestError(f"unknown fields {unknown}; a request has only {list(FIELDS)}", code="bad_request")
    missing = [f for f in FIELDS if f not in data]
    if missing:
        raise RequestError(f"missing fields {missing}; a request needs {list(FIELDS)}", code="bad_request")
    entities, features = data["entities"], data["features"]
    if not isinstance(entities, list):
        raise RequestError(
            f"entities is a {type(entities).__name__}; send a list of ids or {{key column: id}} objects",
            code="bad_entity",
        )
    if not isinstance(features, list):
        raise RequestError(
            f"features is a {type(features).__name__}; send a list of 'view:feature' refs", code="bad_feature_ref"
        )
    if len(features) > MAX_FEATURE_REFS:
        raise RequestTooLargeError(f"{len(features)} feature refs; the limit is {MAX_FEATURE_REFS}: split the request")
    return entities, features
